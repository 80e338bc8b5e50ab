/** What can be wrong with a --trustStorePath file: each problem gets its own message and hint from the CLI. */
export type TrustStoreProblem =
  /** Not PEM, not DER, not PKCS#12. */
  | 'unrecognized'
  /** A Java KeyStore (JKS or JCEKS) that is damaged or holds what this reader does not read (message names it). */
  | 'jks'
  /** A PEM certificate block that is not a certificate (damaged base64, no END line, not X.509). */
  | 'invalid-pem'
  /** PKCS#12 whose MAC does not verify with the empty password and no password was given. */
  | 'password-needed'
  | 'password-wrong'
  /** PKCS#12 using something this reader does not implement, or limits it refuses to exceed (message names it). */
  | 'unsupported'
  | 'no-certificate';

/** A trust store that cannot be used; the message completes "--trustStorePath 'FILE' ...", never holds a password. */
export class TrustStoreError extends Error {
  public override readonly name = 'TrustStoreError';
  public constructor(
    public readonly problem: TrustStoreProblem,
    message: string,
  ) {
    super(message);
  }
}
