/**
 * RFC 4515 search filter building. Only what is needed to look entries up by
 * a value that may come from users or from the directory itself, so every
 * value goes through escapeFilterValue.
 */

export class FilterSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilterSyntaxError';
  }
}

// The characters RFC 4515 requires escaping in an assertion value. Lower-case
// hex matches what RFC 4515 uses in its own examples.
const FILTER_ESCAPES: Readonly<Record<string, string>> = {
  '*': '\\2a',
  '(': '\\28',
  ')': '\\29',
  '\\': '\\5c',
  '\u0000': '\\00',
};

/** Escapes `*`, `(`, `)`, `\` and NUL; everything else, including non-ASCII text, is kept as is. */
export function escapeFilterValue(value: string): string {
  // eslint-disable-next-line no-control-regex -- RFC 4515 escapes NUL, so the pattern names it
  return value.replace(/[*()\\\u0000]/g, (char) => FILTER_ESCAPES[char] ?? char);
}

// RFC 4512 attribute description: descr or numeric OID, then `;option`s.
const ATTRIBUTE_DESCRIPTION =
  /^(?:[A-Za-z][A-Za-z0-9-]*|(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+)(?:;[A-Za-z0-9-]+)*$/;

export function isValidAttributeDescription(attribute: string): boolean {
  return ATTRIBUTE_DESCRIPTION.test(attribute);
}

/** `(attribute=value)` with the value escaped; throws FilterSyntaxError on an invalid attribute name. */
export function equalityFilter(attribute: string, value: string): string {
  if (!isValidAttributeDescription(attribute)) {
    const shown = attribute.length > 40 ? `${attribute.slice(0, 40)}...` : attribute;
    throw new FilterSyntaxError(
      `invalid attribute name '${shown}' in filter: use a name such as 'uid' or 'cn;lang-en', or a numeric OID`,
    );
  }
  return `(${attribute}=${escapeFilterValue(value)})`;
}
