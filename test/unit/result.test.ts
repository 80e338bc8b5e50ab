// The --json result's step shape: what scripts see of a PlannedStep (no changes, no secrets, detail always there).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { stepSummary, type RunResult } from '../../src/cli/result.js';
import type { PlannedStep } from '../../src/model/plan.js';

const SECRET = 'do-not-leak-1';

describe('stepSummary', () => {
  test('keeps id, title, status and detail, and nothing else', () => {
    const step: PlannedStep = {
      id: 'sync-user',
      title: "Sync user 'cn=Sync User,dc=example,dc=com'",
      status: 'created',
      detail: 'account added',
      changes: [{ kind: 'add', dn: 'cn=Sync User,dc=example,dc=com', attributes: { userPassword: [SECRET] } }],
      warnings: ['some warning'],
    };
    const summary = stepSummary(step);
    assert.deepEqual(summary, {
      id: 'sync-user',
      title: "Sync user 'cn=Sync User,dc=example,dc=com'",
      status: 'created',
      detail: 'account added',
    });
    assert.deepEqual(Object.keys(summary).sort(), ['detail', 'id', 'status', 'title']);
    assert.ok(!JSON.stringify(summary).includes(SECRET), 'the change (and its password) is not in the summary');
  });

  test('a missing detail is null, so the JSON always has the key', () => {
    const summary = stepSummary({
      id: 'changelog',
      title: 'Enabling cn=changelog',
      status: 'unchanged',
      changes: [],
      warnings: [],
    });
    assert.equal(summary.detail, null);
    assert.deepEqual(JSON.parse(JSON.stringify(summary)), {
      id: 'changelog',
      title: 'Enabling cn=changelog',
      status: 'unchanged',
      detail: null,
    });
  });

  test('every status passes through unchanged', () => {
    for (const status of ['created', 'updated', 'unchanged', 'skipped', 'warning'] as const) {
      assert.equal(stepSummary({ id: 'x', title: 'X', status, changes: [], warnings: [] }).status, status);
    }
  });

  test('an empty detail stays an empty string (only undefined becomes null)', () => {
    assert.equal(
      stepSummary({ id: 'x', title: 'X', status: 'skipped', detail: '', changes: [], warnings: [] }).detail,
      '',
    );
  });
});

describe('README documents the --json schema', () => {
  // Every key of RunResult: the compiler insists on the whole list, so a new key fails here until documented.
  const KEYS: { [K in keyof RunResult]-?: true } = {
    tool: true,
    version: true,
    runId: true,
    server: true,
    roles: true,
    remove: true,
    dryRun: true,
    syncUserDn: true,
    changed: true,
    steps: true,
    warnings: true,
    changeNumbers: true,
    verified: true,
    servers: true,
    ldif: true,
    ldap: true,
    exitCode: true,
    error: true,
  };

  test('a Scripting section names every top-level key of RunResult', () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const start = readme.search(/^#+ .*Scripting/im);
    assert.ok(start >= 0, 'README has a Scripting section');
    const section = readme.slice(start);
    for (const key of Object.keys(KEYS)) assert.ok(section.includes(`\`${key}\``), `README documents \`${key}\``);
  });
});
