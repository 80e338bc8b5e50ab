/**
 * `--replica HOST:PORT[,accesslogDirectory=PATH]`: another server of the topology. The per-replica part after the
 * comma carries the inputs that differ per server: OpenLDAP's accesslog folder is a path on that server (two
 * servers on one machine cannot share one). Without it a replica uses the run's --accesslogDirectory.
 */
import type { ReplicaEndpoint } from '../core/settings.js';
import { PrepareError, ResultCode } from '../model/errors.js';

const FORM = 'use HOST:PORT, or HOST:PORT,accesslogDirectory=PATH (IPv6 in brackets: [::1]:389)';

function usage(message: string, hint: string = FORM): PrepareError {
  return new PrepareError(ResultCode.PARAM_ERROR, message, hint);
}

export function parseReplica(text: string, from = ''): ReplicaEndpoint {
  const comma = text.indexOf(',');
  const address = (comma < 0 ? text : text.slice(0, comma)).trim();
  const extra = comma < 0 ? undefined : text.slice(comma + 1);
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(address);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (match === null || host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw usage(`Invalid --replica ${JSON.stringify(text)}${from}`);
  }
  if (extra === undefined) return { host, port };
  const setting = /^accesslogDirectory=(.+)$/i.exec(extra);
  if (setting?.[1] === undefined || setting[1].trim() === '') {
    throw usage(
      `Invalid --replica ${JSON.stringify(text)}${from}: after the comma only accesslogDirectory=PATH is known`,
    );
  }
  return { host, port, accesslogDirectory: setting[1] };
}

/** Every --replica, none naming the server itself or another twice. */
export function parseReplicas(
  values: readonly string[] | undefined,
  self: { readonly host: string; readonly port: number },
  from = '',
): ReplicaEndpoint[] {
  const replicas = (values ?? []).map((value) => parseReplica(value, from));
  const seen = [{ host: self.host.toLowerCase(), port: self.port }];
  for (const replica of replicas) {
    if (seen.some((s) => s.host === replica.host.toLowerCase() && s.port === replica.port)) {
      throw usage(
        `--replica ${replica.host}:${replica.port} is named twice (or is --hostname/--port itself)`,
        'name each other server of the topology once',
      );
    }
    seen.push({ host: replica.host.toLowerCase(), port: replica.port });
  }
  return replicas;
}
