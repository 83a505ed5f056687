import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { workerExecArgv } from '../../app/workers/master.js';

describe('worker V8 flags', () => {
  test('a worker gets the young-generation cap before the flags node was started with', () => {
    assert.deepEqual(workerExecArgv(['--enable-source-maps']), ['--max-semi-space-size=8', '--enable-source-maps']);
    assert.deepEqual(workerExecArgv([]), ['--max-semi-space-size=8']);
  });

  test('a cap the operator gives on the command line or in NODE_OPTIONS (either spelling) is left alone', () => {
    assert.deepEqual(workerExecArgv(['--max-semi-space-size=2']), ['--max-semi-space-size=2']);
    assert.deepEqual(workerExecArgv(['--max_semi_space_size=32']), ['--max_semi_space_size=32']);
    assert.deepEqual(workerExecArgv([], '--trace-gc --max-semi-space-size=16'), []);
  });
});
