/** The one type every layer uses for a password, so no layer ever handles a bare string it could print. */
/**
 * A password. It never shows itself: `String(secret)`, JSON and `util.inspect` all print `***`, so a secret
 * that slips into a log call or an error is masked instead of leaked.
 */
export class Secret {
  readonly #value: string;

  public constructor(value: string) {
    this.#value = value;
  }

  public reveal(): string {
    return this.#value;
  }

  public toString(): string {
    return '***';
  }

  public toJSON(): string {
    return '***';
  }

  public [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Secret(***)';
  }
}
