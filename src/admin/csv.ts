/**
 * CSV as RFC 4180 has it, for spreadsheets: a header row, CRLF line ends, a field quoted when it
 * holds a comma, a quote or a line break (its quotes doubled). It starts with a UTF-8 byte order
 * mark, which is how Excel knows the file is UTF-8 (other readers skip it). Text that a
 * spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage return) gets a
 * leading apostrophe, as OWASP advises, so a name can never become a formula.
 */
export function toCsv(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]) => cells.map(field).join(",");
  return `\uFEFF${[header, ...rows].map(line).join("\r\n")}\r\n`;
}

function field(value: string | number): string {
  const text = typeof value === "number" ? String(value) : /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
