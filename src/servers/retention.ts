/**
 * How long a change log keeps changes is someone's decision: it caps how long a sync server may be offline
 * without losing changes. So a run never shortens a finite retention it finds unless it was asked to
 * (`--changelogMaximumAge`, or an answer at the prompt), and says so when asked to shorten it. One rule for
 * every family; each profile only knows where its server keeps the value and in which syntax.
 */
import { describeDuration, formatCompact } from '../formats/duration.js';

/** The wanted maximum age, and whether the operator chose it (option or prompt) or it is the tool's default. */
export interface WantedRetention {
  readonly seconds: number;
  readonly explicit: boolean;
}

export interface RetentionDecision {
  /** The age the server should have after the run. */
  readonly seconds: number;
  /** The server's value differs from `seconds` and must be written. */
  readonly change: boolean;
  /** A finite age someone else set was kept because no age was asked for. */
  readonly kept: boolean;
  /** Said when an explicit age shortens a finite one. */
  readonly warning: string | undefined;
}

export const KEPT_NOTE = 'kept: pass --changelogMaximumAge to change it';

/**
 * `current` is the server's age in seconds; undefined or 0 mean unset or unlimited (nothing is ever purged),
 * which gets the wanted age (the default, 2 days, when none was asked for), as Ping's tool does.
 */
export function decideRetention(current: number | undefined, wanted: WantedRetention): RetentionDecision {
  const finite = current !== undefined && current > 0 ? current : undefined;
  if (finite !== undefined && !wanted.explicit) {
    return { seconds: finite, change: false, kept: true, warning: undefined };
  }
  const shortens = finite !== undefined && wanted.seconds < finite;
  return {
    seconds: wanted.seconds,
    change: finite !== wanted.seconds,
    kept: false,
    warning: shortens
      ? `--changelogMaximumAge ${formatCompact(wanted.seconds)} shortens the change log retention from ${formatCompact(finite)} ` +
        `to ${formatCompact(wanted.seconds)}: changes older than ${describeDuration(wanted.seconds)} are purged, so a sync server ` +
        'offline longer than that loses changes'
      : undefined,
  };
}

/** The retention a target asks for, in decideRetention's terms. */
export function wantedRetention(target: {
  readonly changelogMaxAgeSeconds: number;
  readonly keepCurrentChangelogMaxAge?: boolean;
}): WantedRetention {
  return { seconds: target.changelogMaxAgeSeconds, explicit: target.keepCurrentChangelogMaxAge !== true };
}
