import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandWriter, keyCommand, ReadWindow, ReplyReader, replyEnd } from '../../adapters/redis/resp.js';

const resp = (s: string) => Buffer.from(s, 'latin1');

describe('RESP for the snapshot read (replies read in place)', () => {
  it('finds where a reply ends, and says -1 for every cut short of it', () => {
    const reply = resp('*3\r\n$2\r\nid\r\n$0\r\n\r\n*2\r\n:5\r\n$-1\r\n+OK\r\n');
    const end = reply.indexOf('+OK');
    assert.equal(replyEnd(reply, 0), end);
    for (let cut = 1; cut < end; cut++) assert.equal(replyEnd(reply, 0, cut), -1, `cut at ${cut}`);
    assert.equal(replyEnd(reply, end), reply.length);
    assert.equal(replyEnd(resp('-WRONGTYPE x\r\n'), 0), 14);
    assert.equal(replyEnd(resp('$4\r\na\r\nb\r\n'), 0), 10, 'a bulk string is read by its length, CR LF inside included');
    assert.throws(() => replyEnd(resp('?x\r\n'), 0), /not a RESP reply/);
  });

  it('reads the parts of a reply in place', () => {
    const reader = new ReplyReader().at(resp('xx*3\r\n$2\r\nid\r\n$3\r\nabc\r\n$-1\r\n'), 2);
    assert.equal(reader.int(), 3);
    assert.equal(reader.string(), 'id');
    const at = reader.bulk();
    assert.equal(reader.buf.toString('latin1', at, at + reader.length), 'abc');
    assert.equal(reader.string(), null);
    assert.equal(reader.pos, reader.buf.length);
  });

  it('writes commands with keys copied from other bytes, in one buffer that grows', () => {
    const writer = new CommandWriter();
    const { head, tail } = keyCommand('LRANGE', '0', '-1');
    const keys = resp('..frontend:a.test..');
    writer.command('SCAN', '0');
    for (let i = 0; i < 3000; i++) writer.keyed(head, keys, 2, 17, tail);
    let written = '';
    writer.flush((bytes, done) => {
      written = bytes.toString('latin1');
      done();
    });
    const lrange = '*4\r\n$6\r\nLRANGE\r\n$15\r\nfrontend:a.test\r\n$1\r\n0\r\n$2\r\n-1\r\n';
    assert.equal(written, '*2\r\n$4\r\nSCAN\r\n$1\r\n0\r\n' + lrange.repeat(3000));
    writer.flush(() => assert.fail('nothing to write'));
  });

  it('keeps the unparsed bytes of successive reads together, compacting and growing its window', () => {
    const window = new ReadWindow();
    const stream = Buffer.alloc(1_500_000);
    for (let i = 0; i < stream.length; i++) stream[i] = i % 251;
    let fed = 0;
    let parsed = 0;
    const feed = (n: number) => {
      stream.copy(window.input, 0, fed, fed + n);
      fed += n;
      window.filled(n);
    };
    while (fed < stream.length) {
      feed(Math.min(65536, stream.length - fed));
      // consume all but a tail that varies, as partial replies do; once, nothing for a while (a reply larger than the window)
      const keep = parsed > 600_000 && parsed < 700_000 ? window.end - window.start : (fed * 7) % 3000;
      const upTo = Math.max(window.start, window.end - keep);
      assert.ok(window.buf.subarray(window.start, upTo).equals(stream.subarray(parsed, parsed + upTo - window.start)), `bytes at ${parsed}`);
      parsed += upTo - window.start;
      window.consumed(upTo);
    }
    assert.ok(window.buf.subarray(window.start, window.end).equals(stream.subarray(parsed)));
  });
});
