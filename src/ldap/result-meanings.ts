/** The sentence a person can act on for each LDAP result code a server may answer this tool with. */
/** What an LDAP result code means for a run of this tool, and what to do about it. */
export interface ResultCodeMeaning {
  /** The RFC 4511 name, such as notAllowedOnNonLeaf. */
  readonly name: string;
  /** Completes "The server refused the <operation> of <entry>: ...". */
  readonly why: string;
  readonly hint: string;
}

const RUN_AGAIN = 'run the same command again: it reads the server anew and finishes what is left';

/**
 * Every result code a server can answer an operation of this tool with (RFC 4511 4.1.9, RFC 3909, RFC 4370,
 * RFC 6171), with a sentence a person can act on. Codes with a message of their own (49, 50, 32, 8, 13) are
 * worded where the error is translated; a code missing here still gets its number, name and the server's text.
 */
export const RESULT_CODE_MEANINGS: Readonly<Record<number, ResultCodeMeaning>> = {
  1: {
    name: 'operationsError',
    why: 'the server reported an internal error',
    hint: "check the directory server's error log, then run again",
  },
  2: {
    name: 'protocolError',
    why: 'the server did not understand the request',
    hint: 'check that --hostname and --port name an LDAPv3 server, and that --useSSL / --useStartTLS match the port',
  },
  3: {
    name: 'timeLimitExceeded',
    why: "the server's time limit for the admin ran out",
    hint: "raise the admin's time limit on the server (nsslapd-timelimit, olcTimeLimit), or try when it is less busy",
  },
  4: {
    name: 'sizeLimitExceeded',
    why: "the server's size limit for the admin was reached",
    hint: "raise the admin's size limit on the server (nsslapd-sizelimit, olcSizeLimit), or bind as an administrator without limits",
  },
  7: {
    name: 'authMethodNotSupported',
    why: 'the server does not accept a simple bind here',
    hint: 'allow simple binds for this account on the server (or bind with another --bindDN)',
  },
  10: {
    name: 'referral',
    why: 'the server does not hold that entry and refers to another server',
    hint: 'connect to the server that holds the base DN (a supplier or primary, not a read-only consumer)',
  },
  11: {
    name: 'adminLimitExceeded',
    why: 'an administrative limit of the server was exceeded',
    hint: "raise the server's look-through or size limits for the admin, or bind as an administrator without limits",
  },
  12: {
    name: 'unavailableCriticalExtension',
    why: 'the server does not support a control this run needs',
    hint: 'check the server type (pass --serverType if detection is wrong)',
  },
  14: {
    name: 'saslBindInProgress',
    why: 'the server expected a SASL bind to continue',
    hint: 'bind with a simple --bindDN and password',
  },
  16: { name: 'noSuchAttribute', why: 'a value the run removes is no longer there', hint: RUN_AGAIN },
  17: {
    name: 'undefinedAttributeType',
    why: "the server's schema does not know an attribute the run writes",
    hint: 'check the server type (--serverType), or add the missing schema (such as inetOrgPerson) to the server',
  },
  18: {
    name: 'inappropriateMatching',
    why: 'the server cannot compare an attribute the way the request asks',
    hint: 'check the server type (pass --serverType if detection is wrong)',
  },
  19: {
    name: 'constraintViolation',
    why: 'a value breaks a constraint of the server',
    hint: 'read what the server said: a unique attribute already in use, a value too long, or a rule of the server',
  },
  20: { name: 'attributeOrValueExists', why: 'a value the run adds is already there', hint: RUN_AGAIN },
  21: {
    name: 'invalidAttributeSyntax',
    why: 'the server refuses the syntax of a value',
    hint: 'check the DNs and values given (such as --syncServerBindDN and --changelogMaximumAge)',
  },
  33: {
    name: 'aliasProblem',
    why: 'an alias on the way to the entry is broken',
    hint: 'name the entry itself rather than an alias',
  },
  34: {
    name: 'invalidDNSyntax',
    why: 'the server refuses the DN as invalid',
    hint: 'check the DN (the server may refuse characters RFC 4514 allows); choose another --syncServerBindDN or --baseDN',
  },
  36: {
    name: 'aliasDereferencingProblem',
    why: 'an alias could not be followed',
    hint: 'name the entry itself rather than an alias',
  },
  48: {
    name: 'inappropriateAuthentication',
    why: 'the server does not let this account bind with a password',
    hint: 'check --bindDN: it must be an account that has a password',
  },
  51: { name: 'busy', why: 'the server is too busy to do it now', hint: 'run the same command again in a moment' },
  52: {
    name: 'unavailable',
    why: 'the server is unavailable (shutting down, or in read-only or maintenance mode)',
    hint: 'wait until the server is back in service, then run the same command again',
  },
  53: {
    name: 'unwillingToPerform',
    why: 'the server is unwilling to do it',
    hint: 'read what the server said: often a read-only replica (prepare its supplier instead) or a disabled backend',
  },
  54: {
    name: 'loopDetect',
    why: 'the server found a loop (of aliases or referrals)',
    hint: "check the server's aliases and referrals",
  },
  64: {
    name: 'namingViolation',
    why: "the entry's name breaks the server's naming rules",
    hint: 'choose a --syncServerBindDN whose first part uses an attribute the account may be named by, such as cn=Sync User,...',
  },
  65: {
    name: 'objectClassViolation',
    why: 'the entry would break its object class rules',
    hint: 'choose a --syncServerBindDN whose first part is cn=... or uid=... (an account cannot be named by other attributes)',
  },
  66: {
    name: 'notAllowedOnNonLeaf',
    why: 'it has entries below it, and only an entry without children can be deleted',
    hint: 'this tool never deletes a subtree: move or delete the entries below it first, or leave it in place',
  },
  67: {
    name: 'notAllowedOnRDN',
    why: 'it would remove the value the entry is named by',
    hint: 'choose another --syncServerBindDN',
  },
  68: { name: 'entryAlreadyExists', why: 'the entry already exists', hint: RUN_AGAIN },
  69: {
    name: 'objectClassModsProhibited',
    why: "the server does not allow changing the entry's object classes",
    hint: 'choose another --syncServerBindDN',
  },
  71: { name: 'affectsMultipleDSAs', why: 'it would span several servers', hint: 'prepare each server on its own' },
  80: {
    name: 'other',
    why: 'the server reported an unspecified error',
    hint: "check the directory server's error log",
  },
  118: { name: 'canceled', why: 'the operation was canceled', hint: RUN_AGAIN },
  119: { name: 'noSuchOperation', why: 'the server lost track of the operation', hint: RUN_AGAIN },
  120: { name: 'tooLate', why: 'the operation could no longer be canceled', hint: RUN_AGAIN },
  121: { name: 'cannotCancel', why: 'the operation could not be canceled', hint: RUN_AGAIN },
  122: {
    name: 'assertionFailed',
    why: 'the entry was not as the request assumed (changed meanwhile)',
    hint: RUN_AGAIN,
  },
  123: {
    name: 'authorizationDenied',
    why: 'the server denied the proxied authorization',
    hint: 'bind as the administrator directly',
  },
};
