import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../core/errors.js';
import { MAX_BODY_DEPTH, parseJsonBody } from './body.js';

function refused(text: string | Buffer, detail: RegExp, field?: string): void {
  try {
    parseJsonBody(Buffer.isBuffer(text) ? text : Buffer.from(text));
  } catch (err) {
    assert.ok(err instanceof InputError, String(err));
    assert.match(err.message, detail);
    if (field !== undefined) assert.deepEqual(Object.keys(err.fields ?? {}), [field]);
    return;
  }
  assert.fail(`expected ${String(text).slice(0, 80)} to be refused`);
}

describe('parseJsonBody', () => {
  it('parses JSON; an empty or blank body is undefined', () => {
    assert.deepEqual(parseJsonBody(Buffer.from(' {"a":[1,2,{"b":null}]} ')), { a: [1, 2, { b: null }] });
    assert.equal(parseJsonBody(Buffer.from('')), undefined);
    assert.equal(parseJsonBody(Buffer.from(' \n')), undefined);
  });

  it(`allows ${MAX_BODY_DEPTH} levels and refuses one more, naming the field`, () => {
    const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);
    assert.ok(parseJsonBody(Buffer.from(`{"a":${nest(MAX_BODY_DEPTH - 1)}}`)));
    refused(`{"a":${nest(MAX_BODY_DEPTH)}}`, /^a\[0\]\[0\].* is nested deeper than 128 levels$/);
    refused(nest(100_000), /nested deeper/);
  });

  it('refuses numbers out of range, naming where they are', () => {
    refused('{"x":1e400}', /^x is a number out of range$/, 'x');
    refused('{"a":{"b":[0,-1e999]}}', /^a\.b\[1\] is a number out of range$/, 'a.b[1]');
    refused('1e400', /^body is a number out of range$/, 'body');
  });

  it('refuses invalid UTF-8, naming the field where it can', () => {
    refused(Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xc3]), Buffer.from('"}')]), /^name is not valid UTF-8$/, 'name');
    refused(Buffer.concat([Buffer.from('{"list":["ok","x'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"]}')]), /^list\[1\] is not valid UTF-8$/);
    refused(Buffer.concat([Buffer.from('{"a":1'), Buffer.from([0xff]), Buffer.from('}')]), /^request body is not valid UTF-8$/);
    // U+FFFD sent as valid UTF-8 is an ordinary character.
    assert.deepEqual(parseJsonBody(Buffer.from('{"a":"\uFFFD"}')), { a: '\uFFFD' });
  });

  it('refuses malformed JSON', () => {
    refused('{"a":', /not valid JSON/);
  });
});
