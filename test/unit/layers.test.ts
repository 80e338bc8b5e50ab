// The architecture as a rule: which folder of src/ may import which. A layer imports only the layers below it,
// so the core can be read (and tested) without the CLI, and a profile without a connection.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../helpers/cli.js';

/** For each layer, the layers its modules may import (besides their own). */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  model: [],
  formats: ['model'],
  tls: ['model', 'formats'],
  ldap: ['model', 'formats', 'tls'],
  servers: ['model', 'formats'],
  // Not ldap: the core gets its connections through RunDependencies.connect (the directory port, model/directory.ts).
  core: ['model', 'formats', 'servers'],
  cli: ['model', 'formats', 'tls', 'ldap', 'servers', 'core'],
};

/** The one layer that may import the LDAP client library. */
const LDAP_CLIENT_LAYER = 'ldap';

interface Violation {
  readonly file: string;
  readonly imported: string;
}

/** Every import of `source` (a file of layer `layer`) that breaks the rules above. */
function violations(file: string, layer: string, source: string): Violation[] {
  const found: Violation[] = [];
  const specifiers = source.matchAll(
    /(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g,
  );
  for (const match of specifiers) {
    const specifier = match[1] ?? match[2] ?? '';
    if (specifier === 'ldapts' || specifier.startsWith('ldapts/')) {
      if (layer !== LDAP_CLIENT_LAYER) found.push({ file, imported: specifier });
      continue;
    }
    if (!specifier.startsWith('.')) continue;
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
    const targetLayer = target.split('/')[1];
    if (targetLayer === undefined || targetLayer === layer) continue;
    if (!(MAY_IMPORT[layer] ?? []).includes(targetLayer)) found.push({ file, imported: specifier });
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('layers', () => {
  const src = path.join(repoRoot, 'src');
  const files = sourceFiles(src).map((full) => path.relative(repoRoot, full).split(path.sep).join('/'));

  test('every folder of src/ is a known layer', () => {
    const layers = new Set(files.map((file) => file.split('/')[1]));
    assert.deepEqual(
      [...layers].filter((layer) => layer === undefined || !(layer in MAY_IMPORT)),
      [],
    );
  });

  test('imports go one way: cli -> core -> servers -> formats, model; cli -> ldap -> tls -> formats, model', () => {
    const broken = files.flatMap((file) =>
      violations(file, file.split('/')[1] ?? '', readFileSync(path.join(repoRoot, file), 'utf8')),
    );
    assert.deepEqual(broken, []);
  });

  test('the rule catches an import upwards, a dynamic one, and ldapts outside src/ldap', () => {
    assert.deepEqual(
      violations('src/servers/x.ts', 'servers', "import type { Settings } from '../core/settings.js';"),
      [{ file: 'src/servers/x.ts', imported: '../core/settings.js' }],
    );
    assert.deepEqual(violations('src/model/x.ts', 'model', "const m = await import('../ldap/directory.js');"), [
      { file: 'src/model/x.ts', imported: '../ldap/directory.js' },
    ]);
    assert.deepEqual(violations('src/core/x.ts', 'core', "import { Client } from 'ldapts';"), [
      { file: 'src/core/x.ts', imported: 'ldapts' },
    ]);
    assert.deepEqual(violations('src/core/x.ts', 'core', "import { connect } from '../ldap/directory.js';"), [
      { file: 'src/core/x.ts', imported: '../ldap/directory.js' },
    ]);
    assert.deepEqual(
      violations('src/cli/x.ts', 'cli', "const { connect } = await import('../ldap/directory.js');"),
      [],
    );
  });
});
