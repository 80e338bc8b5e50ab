// Injection: property-based proofs (fast-check) that values built from user input into DNs (RFC 4514),
// filters (RFC 4515), 389 DS ACIs and OpenLDAP olcAccess rules round-trip and never change their meaning,
// for hostile values: commas, quotes, parentheses, asterisks, NUL, backslashes, spaces at either end, #, +,
// ;, <, >, =, |, ?, newlines, non-ASCII.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FilterParser, EqualityFilter } from 'ldapts';
import { escapeDnValue, formatDn, normalizeDn, parseDn, quotableDn, type Rdn } from '../../src/formats/dn.js';
import { equalityFilter, escapeFilterValue } from '../../src/formats/filter.js';
import { PrepareError } from '../../src/model/errors.js';
import { aciName, aciUserDns, isOurAci, renderAci, type AciSpec } from '../../src/servers/aci.js';
import { dataAccessRule, findDataRules } from '../../src/servers/openldap.js';

const RUNS = { numRuns: 500 };

/** Pieces an attacker would reach for, mixed with ordinary text. */
const HOSTILE = [
  ',',
  '"',
  '(',
  ')',
  '*',
  '\u0000',
  '\\',
  ' ',
  '#',
  '+',
  ';',
  '<',
  '>',
  '=',
  '|',
  '||',
  '?',
  '\n',
  '\r',
  '\t',
  ')(',
  '*)(uid=*',
  'userdn=',
  'ldap:///anyone',
  '"; allow (all) userdn="ldap:///anyone";)',
  ' || ldap:///anyone',
  '??sub?(objectClass=*)',
  'by * write',
  '\\2a',
  '\\22',
  '\\,',
  'a',
  'Z',
  '0',
  'é',
  'ß',
  '同步',
  '✓',
  '\u{1F600}',
];

/** Strings made of hostile pieces and arbitrary Unicode text. */
const hostile: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.constantFrom(...HOSTILE), { maxLength: 12 }).map((parts) => parts.join('')),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc
    .string({ unit: 'binary', maxLength: 20 })
    .filter((s) => !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))),
);

const attributeType = fc.constantFrom('cn', 'uid', 'ou', 'o', 'dc', 'sn', '2.5.4.3');
const base = fc.constantFrom('dc=example,dc=com', 'ou=People,dc=example,dc=org', 'o=Zürich\\, Sales');

/** A DN with hostile values in its first RDN (one to three AVAs) under an ordinary base. */
const hostileDn: fc.Arbitrary<{ rdn: Rdn; dn: string; base: string }> = fc
  .record({
    avas: fc.uniqueArray(fc.record({ type: attributeType, value: hostile }), {
      minLength: 1,
      maxLength: 3,
      selector: (a) => a.type,
    }),
    base,
  })
  .map(({ avas, base: b }) => {
    const rdn = avas.map(({ type, value }) => ({ type, value }));
    return { rdn, base: b, dn: formatDn([rdn, ...parseDn(b)]) };
  });

describe('RFC 4514: hostile DN values round-trip and never change the DN structure', () => {
  test('escapeDnValue: a value parses back to itself, as one AVA of one RDN', () => {
    fc.assert(
      fc.property(attributeType, hostile, (type, value) => {
        const rdns = parseDn(`${type}=${escapeDnValue(value)}`);
        assert.equal(rdns.length, 1);
        assert.equal(rdns[0]!.length, 1);
        assert.deepEqual(rdns[0]![0], { type, value });
      }),
      RUNS,
    );
  });

  test('formatDn/parseDn: multi-valued RDNs with hostile values keep every RDN and AVA', () => {
    fc.assert(
      fc.property(hostileDn, ({ rdn, dn, base: b }) => {
        const parsed = parseDn(dn);
        assert.equal(parsed.length, 1 + parseDn(b).length);
        assert.deepEqual(parsed[0], rdn);
        assert.equal(formatDn(parsed), dn, 'formatting is stable');
        assert.equal(normalizeDn(formatDn(parsed)), normalizeDn(dn));
      }),
      RUNS,
    );
  });

  test('quotableDn: no quote, | or ? left, and it parses back to the same DN (an OID type written as its name)', () => {
    fc.assert(
      fc.property(hostileDn, ({ dn }) => {
        const quoted = quotableDn(dn);
        assert.ok(!/["|?\u0000\n\r]/.test(quoted), quoted);
        assert.deepEqual(
          parseDn(quoted).map((rdn) => rdn.map((ava) => ava.value)),
          parseDn(dn).map((rdn) => rdn.map((ava) => ava.value)),
        );
        assert.equal(normalizeDn(quoted), normalizeDn(dn));
      }),
      RUNS,
    );
  });
});

describe('RFC 4515: hostile filter values stay one equality assertion of the same value', () => {
  test('escapeFilterValue leaves no special character unescaped, and unescaping gives the value back', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        const escaped = escapeFilterValue(value);
        assert.equal(
          escaped.replace(/\\([0-9a-f]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
          value,
        );
        const filter = equalityFilter('cn;lang-en', value);
        assert.match(
          filter,
          /^\(cn;lang-en=(?:[^*()\\\u0000]|\\[0-9a-f]{2})*\)$/,
          'one equality item, no wildcard, no nesting',
        );
        assert.ok(!/[*()\u0000]/.test(escaped), escaped);
        assert.ok(!/\\(?![0-9a-f]{2})/.test(escaped), `every backslash starts a hex escape: ${escaped}`);
      }),
      RUNS,
    );
  });

  test('equalityFilter: a real LDAP filter parser (ldapts) reads one equality filter with the original value', () => {
    // ldapts' parser knows neither attribute options (cn;lang-en) nor numeric OIDs, and rejects the empty
    // assertion value `(cn=)` that RFC 4515 allows: those are left out here (the test above covers them).
    fc.assert(
      fc.property(fc.constantFrom('uid', 'cn', 'objectClass'), hostile, (attribute, value) => {
        fc.pre(value !== '');
        const filter = equalityFilter(attribute, value);
        const parsed = FilterParser.parseString(filter);
        assert.ok(parsed instanceof EqualityFilter, `${filter} is ${parsed.constructor.name}`);
        assert.equal(parsed.attribute, attribute);
        const got = Buffer.isBuffer(parsed.value) ? parsed.value.toString('utf8') : parsed.value;
        assert.equal(got, value);
      }),
      RUNS,
    );
  });
});

describe('ACIs (389 DS) and olcAccess rules (OpenLDAP) for hostile sync user DNs mean what they should', () => {
  const ACI_SHAPE =
    /^\(targetattr="\*"\)\(version 3\.0; acl "prepare-endpoint-server: sync source read"; allow \(read,search,compare\) userdn="ldap:\/\/\/([^"|?]*)";\)$/;

  test('the ACI has exactly its shape, one userdn naming exactly the sync user, and is found again (or a DN with | ? ; or * is refused)', () => {
    fc.assert(
      fc.property(hostileDn, ({ dn }) => {
        const spec: AciSpec = {
          name: 'sync source read',
          targetAttributes: '*',
          rights: ['read', 'search', 'compare'],
          userDn: dn,
        };
        if (/[|?;*]/.test(dn)) {
          assert.throws(
            () => renderAci(spec),
            (error: unknown) => error instanceof PrepareError && error.resultCode === 89,
          );
          return;
        }
        const aci = renderAci(spec);
        const match = ACI_SHAPE.exec(aci);
        assert.ok(match, `the ACI keeps its structure: ${aci}`);
        assert.equal(aciName(aci), 'prepare-endpoint-server: sync source read');
        const users = aciUserDns(aci);
        assert.equal(users.length, 1, `one user, no || alternative: ${aci}`);
        assert.equal(normalizeDn(users[0]!), normalizeDn(dn));
        assert.ok(isOurAci(aci, spec));
      }),
      RUNS,
    );
  });

  test('an ACI for one hostile DN is never taken for another DN', () => {
    fc.assert(
      fc.property(hostileDn, hostileDn, (a, b) => {
        fc.pre(normalizeDn(a.dn) !== normalizeDn(b.dn) && !/[|?;*]/.test(a.dn));
        const spec: AciSpec = {
          name: 'sync destination write',
          targetAttributes: '*',
          rights: ['write'],
          userDn: a.dn,
        };
        assert.equal(isOurAci(renderAci(spec), { ...spec, userDn: b.dn }), false);
      }),
      RUNS,
    );
  });

  test('the olcAccess rule keeps its shape and names exactly the base and the sync user', () => {
    const RULE_SHAPE = /^to dn\.subtree="([^"]*)" by dn\.exact="([^"]*)" (read|write) by \* break$/;
    fc.assert(
      fc.property(hostileDn, hostileDn, fc.constantFrom('read', 'write' as const), (user, baseDn, level) => {
        const rule = dataAccessRule(baseDn.dn, user.dn, level);
        const match = RULE_SHAPE.exec(rule);
        assert.ok(match, `the rule keeps its structure: ${rule}`);
        assert.equal(normalizeDn(match[1]!), normalizeDn(baseDn.dn));
        assert.equal(normalizeDn(match[2]!), normalizeDn(user.dn));
        assert.deepEqual(
          findDataRules([`{0}${rule}`], baseDn.dn, user.dn).map((r) => r.level),
          [level],
        );
      }),
      RUNS,
    );
  });
});
