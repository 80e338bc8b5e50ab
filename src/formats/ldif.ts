/**
 * Changes as LDIF (RFC 2849), for an operator to read or apply with ldapmodify. Secret values are masked:
 * this text goes to terminals and logs.
 */
import { isBinaryAttribute, isSecretAttribute, type Change, type LdapControl } from '../model/entries.js';

export const MASK = '********';

function needsBase64(value: string): boolean {
  // RFC 2849 SAFE-STRING: no leading space, colon or '<', no trailing space, ASCII without NUL, CR, LF.
  // eslint-disable-next-line no-control-regex -- RFC 2849's SAFE-CHAR range starts at %x01
  return value === '' ? false : /^[ :<]|[\r\n\0]|[^\x01-\x7f]| $/.test(value);
}

function line(attribute: string, value: string): string {
  if (isSecretAttribute(attribute)) return `${attribute}: ${MASK}`;
  // Binary attribute values are already base64 of their bytes.
  if (isBinaryAttribute(attribute)) return `${attribute}:: ${value}`;
  return needsBase64(value)
    ? `${attribute}:: ${Buffer.from(value, 'utf8').toString('base64')}`
    : `${attribute}: ${value}`;
}

/** RFC 2849 `control: <oid> <criticality>[:: <base64 value>]`. */
function controlLine(control: LdapControl): string {
  return `control: ${control.oid} ${control.critical ? 'true' : 'false'}${control.value === undefined ? '' : `:: ${control.value}`}`;
}

function dnLine(dn: string): string {
  return needsBase64(dn) ? `dn:: ${Buffer.from(dn, 'utf8').toString('base64')}` : `dn: ${dn}`;
}

export function renderLdif(changes: readonly Change[]): string {
  return changes
    .map((change) => {
      const controls = change.kind === 'modify' ? (change.controls ?? []).map(controlLine) : [];
      const lines = [dnLine(change.dn), ...controls, `changetype: ${change.kind}`];
      if (change.kind === 'add') {
        for (const [attribute, values] of Object.entries(change.attributes)) {
          for (const value of values) lines.push(line(attribute, value));
        }
      } else if (change.kind === 'modify') {
        change.modifications.forEach((modification, index) => {
          if (index > 0) lines.push('-');
          lines.push(`${modification.operation}: ${modification.attribute}`);
          for (const value of modification.values) lines.push(line(modification.attribute, value));
        });
        lines.push('-');
      }
      return lines.join('\n');
    })
    .join('\n\n');
}
