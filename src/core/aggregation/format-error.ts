/**
 * Thrown when an aggregation format cannot be compiled. The message names the problem, where it is
 * (`at column 7`, or `at line 2, column 3` in a multi-line format) and, when useful, a hint;
 * `position` is the 0-based offset into the format (-1 when the problem is the whole format).
 *
 * @example
 *   compileAggregationFormat('{{ verb');
 *   // throws: invalid aggregation format: unterminated '{{' at column 1 (expected '}}')
 */
export class AggregationFormatError extends Error {
  /** 0-based offset into the format where the problem was found, or -1. */
  readonly position: number;

  constructor(format: string, problem: string, position: number, hint?: string) {
    const at = position >= 0 ? ` at ${where(format, position)}` : '';
    super(`invalid aggregation format: ${problem}${at}${hint === undefined ? '' : ` (${hint})`}`);
    this.name = 'AggregationFormatError';
    this.position = position;
  }
}

/** Describes an offset as a 1-based column, with the line when the format spans several. */
function where(format: string, position: number): string {
  const lineStart = position === 0 ? 0 : format.lastIndexOf('\n', position - 1) + 1;
  const column = position - lineStart + 1;
  if (!format.includes('\n')) return `column ${column}`;
  let line = 1;
  for (let i = 0; i < lineStart; i++) if (format.charCodeAt(i) === 10) line++;
  return `line ${line}, column ${column}`;
}
