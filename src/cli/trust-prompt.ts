/**
 * At a terminal, as Ping's tools do: a server certificate the run's trust does not vouch for is shown (subject,
 * issuer, validity, SHA-256 fingerprint, the host name mismatch if any) with a question to trust it for this run.
 * "yes" pins that one certificate for the run's connections; anything else is the 91 the run would have ended
 * with, naming --trustStorePath. Without a terminal (or with --no-prompt) nothing is asked.
 */
import type { ConnectionOptions, ServerCertificateFacts, Trust } from '../model/directory.js';
import { PrepareError, ResultCode } from '../model/errors.js';
import type { Prompter } from '../core/ports.js';

export type CertificateInspector = (options: ConnectionOptions) => Promise<ServerCertificateFacts>;

/** The trust the run uses: the one given, or the certificate accepted at the prompt. */
export async function trustAtTerminal(
  options: ConnectionOptions,
  prompter: Prompter,
  inspect: CertificateInspector,
  show: (text: string) => void,
): Promise<Trust> {
  if (options.security === 'none' || options.trust.kind === 'all' || options.socketPath !== undefined)
    return options.trust;
  let facts: ServerCertificateFacts;
  try {
    facts = await inspect(options);
  } catch (error) {
    // Nothing to ask about: the run itself connects and says what failed.
    if (!(error instanceof PrepareError) || error.resultCode !== ResultCode.CONNECT_ERROR) throw error;
    return options.trust;
  }
  if (facts.trusted) return options.trust;
  show(
    [
      `The server certificate of ${options.host}:${options.port} is not trusted: ${facts.reason ?? facts.hostMismatch ?? 'unknown reason'}`,
      `  Subject:     ${facts.subject}`,
      `  Issuer:      ${facts.issuer}`,
      `  Valid from:  ${facts.validFrom}`,
      `  Valid until: ${facts.validTo}`,
      `  SHA-256 fingerprint: ${facts.fingerprint256}`,
      ...(facts.hostMismatch === undefined ? [] : [`  Host name:   ${facts.hostMismatch}`]),
    ].join('\n'),
  );
  const answer = await prompter.text('Do you trust this certificate for this run? (yes/no)', 'no', (value) =>
    /^(y|yes|n|no)$/i.test(value.trim()) ? undefined : 'answer yes or no',
  );
  if (/^y(es)?$/i.test(answer.trim()))
    return { kind: 'pinned', fingerprint256: facts.fingerprint256, subject: facts.subject };
  throw new PrepareError(
    ResultCode.CONNECT_ERROR,
    `The server certificate of ${options.host}:${options.port} ('${facts.subject}') was not trusted: nothing was sent`,
    'give the CA certificate that issued it with --trustStorePath (PEM, PKCS#12 or JKS)',
  );
}
