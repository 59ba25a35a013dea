// GridSafe's records are standard automerge documents (issue #26): the JavaScript automerge reads
// what the phone wrote, and what it writes back goes through the phone's history rules like any
// other replica's changes — an appended event merges, a deleted one is refused, nothing changes.
//
// Run by scripts/test after the binaries are built (GRIDSAFE_BIN, default target/debug).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as A from '@automerge/automerge';

const root = resolve(import.meta.dirname, '..', '..');
const bin = join(process.env.GRIDSAFE_BIN ?? join(root, 'target', 'debug'), 'gridsafe');
const dir = mkdtempSync(join(tmpdir(), 'gridsafe-interop-'));
const store = join(dir, 'phone.sqlite');
const gs = (...args) => spawnSync(bin, ['--store', store, ...args], { encoding: 'utf8' });

execFileSync('bash', [join(root, 'scripts', 'offline-day.sh'), store], {
  env: { ...process.env, GRIDSAFE_BIN: bin },
  stdio: 'ignore',
});
const hazards = JSON.parse(gs('--as', 'wang', '--json', 'hazards', 'list').stdout);

const exported = id => {
  const file = join(dir, `${id}.automerge`);
  const out = gs('doc', 'export', id, '--out', file);
  assert.equal(out.status, 0, out.stderr);
  return A.load(new Uint8Array(readFileSync(file)));
};
const importBack = (id, doc) => {
  const file = join(dir, `${id}.back.automerge`);
  writeFileSync(file, A.save(doc));
  return gs('--json', 'doc', 'import', id, file);
};
const history = id => JSON.parse(gs('--as', 'wang', '--json', 'hazards', 'show', id).stdout);

test('the JavaScript automerge reads every hazard the phone wrote', () => {
  assert.ok(hazards.length >= 3, `hazards from the offline day: ${hazards.length}`);
  for (const h of hazards) {
    const doc = exported(h.id);
    assert.equal(doc.kind, 'hazard');
    assert.equal(doc.hazard.id, h.id);
    assert.equal(doc.events[0].kind, 'register');
    // Unchanged, it goes back as it came.
    const back = importBack(h.id, doc);
    assert.equal(back.status, 0, back.stderr);
  }
});

test('an event appended in JavaScript merges; a deleted or edited one is refused', () => {
  const id = hazards[0].id;
  const before = history(id);
  const doc = exported(id);

  const edited = A.change(A.clone(doc), d => {
    d.events[0].reason = 'rewritten in JavaScript';
  });
  let out = importBack(id, edited);
  assert.notEqual(out.status, 0);
  assert.match(out.stderr, /event_modified/);

  const deleted = A.change(A.clone(doc), d => {
    d.events.deleteAt(0);
  });
  out = importBack(id, deleted);
  assert.notEqual(out.status, 0);
  assert.match(out.stderr, /event_deleted/);
  assert.deepEqual(history(id), before, 'nothing changed');

  // A note from another replica (an actor this phone does not know yet): kept, applied by the
  // fold once the relay says who wrote it.
  const appended = A.change(A.clone(doc), d => {
    const last = d.events[d.events.length - 1];
    // Rust's u32 counter is an automerge uint; JavaScript writes whole numbers as int.
    d.events.push({
      ...JSON.parse(JSON.stringify(last)),
      id: crypto.randomUUID(),
      counter: new A.Uint(last.counter),
    });
  });
  out = importBack(id, appended);
  assert.equal(out.status, 0, out.stderr);
  assert.equal(exported(id).events.length, doc.events.length + 1);
});
