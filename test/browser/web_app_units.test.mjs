// Unit tests of the web app's modules that need no page: the event-stream
// parser, the mapping of API errors to fields, and the catalogue read from
// the server's real /openapi.json (IMG_BASE_URL) or, without a server, from
// the messages and shapes below. Run with `node --test`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createParser } from '../../app/js/sse.js';
import { locateError } from '../../app/js/errors.js';
import { readCatalogue, resolve } from '../../app/js/catalogue.js';

test('sse: events split across chunks, CRLF and CR line ends, comments, multi-line data', () => {
  const p = createParser();
  assert.deepEqual(p.feed(': all jobs\n\nevent: sta'), []);
  assert.deepEqual(p.feed('tus\nid: 4\ndata: {"a":'), []);
  assert.deepEqual(p.feed('1}\n\n'), [{ type: 'status', data: '{"a":1}', id: '4' }]);
  assert.deepEqual(p.feed('event: progress\r\ndata: x\r\ndata: y\r\n\r\n'), [{ type: 'progress', data: 'x\ny', id: '4' }]);
  // a CR at a chunk's end followed by LF in the next is one line end
  assert.deepEqual(p.feed('data: z\r'), []);
  assert.deepEqual(p.feed('\n\r\n'), [{ type: 'message', data: 'z', id: '4' }]);
  assert.deepEqual(p.feed('data:no space\n\n'), [{ type: 'message', data: 'no space', id: '4' }]);
  // an event without data is dropped; the type does not leak to the next
  assert.deepEqual(p.feed('event: status\n\ndata: w\n\n'), [{ type: 'message', data: 'w', id: '4' }]);
});

const names = ['width', 'height', 'fit', 'format', 'quality', 'callback_url'];
test('errors: the parameter a message names', () => {
  const at = (message, code = 'invalid_parameter', opts = {}) => locateError({ code, message }, { names, fileNames: ['file'], ...opts });
  assert.equal(at('width must be an integer from 1 to 16384').field, 'width');
  assert.equal(at('callback_url: \'127.0.0.1\' leads to a loopback address').field, 'callback_url');
  assert.equal(at('quality is required').field, 'quality');
  assert.equal(at("unknown parameter 'wdth' (resize accepts width, height)").field, null);
  assert.equal(at('the box 5000x10 at (0, 0) is not inside the 1680x1050 image').field, null);
  assert.equal(at('no file was uploaded in field \'file\'', 'missing_file').field, 'file');
  assert.equal(at('the file is not an image in a supported format', 'unsupported_media_type').field, 'file');
  // a word that is not a field of the form is not taken for one
  assert.equal(at('sigma must be a number').field, null);
  const two = { names: ['threshold'], fileNames: ['image1', 'image2'] };
  assert.equal(locateError({ code: 'missing_file', message: "no file was uploaded in field 'image2'" }, two).field, 'image2');
  assert.equal(locateError({ code: 'empty_file', message: 'the upload is empty' }, two).field, null);
});

test('errors: a pipeline step by its index, and the step\'s field', () => {
  const opts = { names: ['steps', 'format'], fileNames: ['file'], stepNames: (i) => (i === 1 ? ['left', 'top', 'width', 'height'] : ['width']) };
  const a = locateError({ code: 'invalid_parameter', message: 'steps[1] (crop): width must be an integer from 1 to 10000000' }, opts);
  assert.deepEqual(a, { field: 'steps', step: 1, stepField: 'width', message: 'width must be an integer from 1 to 10000000' });
  const b = locateError({ code: 'invalid_parameter', message: 'steps[0]: op must name an operation that takes one image and gives one' }, opts);
  assert.deepEqual(b, { field: 'steps', step: 0, stepField: 'op', message: 'op must name an operation that takes one image and gives one' });
  const c = locateError({ code: 'invalid_parameter', message: 'steps[1] (crop): the box 200x3 at (0, 0) is not inside the 100x63 image' }, opts);
  assert.equal(c.step, 1);
  assert.equal(c.stepField, null);
  const d = locateError({ code: 'invalid_parameter', message: 'steps must be a JSON array of 1 to 10 objects' }, opts);
  assert.deepEqual([d.field, d.step], ['steps', null]);
});

test('catalogue: $ref and allOf resolved', () => {
  const doc = { components: { schemas: { A: { type: 'integer', minimum: 1 }, B: { allOf: [{ $ref: '#/components/schemas/A' }], description: 'b' } } } };
  assert.deepEqual(resolve(doc, { $ref: '#/components/schemas/B' }), { type: 'integer', minimum: 1, description: 'b' });
});

test('catalogue: every operation of the server\'s OpenAPI document', { skip: !process.env.IMG_BASE_URL }, async () => {
  const doc = await (await fetch(`${process.env.IMG_BASE_URL}/openapi.json`)).json();
  const ops = readCatalogue(doc);
  assert.deepEqual(ops.map((o) => o.name).sort(), [...doc.components.schemas.OperationName.enum].sort());
  const op = (n) => ops.find((o) => o.name === n);
  const width = op('resize').params.find((f) => f.name === 'width');
  assert.deepEqual([width.kind, width.minimum, width.maximum], ['integer', 1, 16384]);
  const fit = op('resize').params.find((f) => f.name === 'fit');
  assert.deepEqual([fit.kind, fit.default, fit.enum], ['enum', 'inside', ['inside', 'cover', 'fill', 'outside']]);
  assert.deepEqual(op('diff').files.map((f) => f.name), ['image1', 'image2']);
  assert.equal(op('info').jsonResult, true);
  assert.equal(op('resize').jsonResult, false);
  assert.deepEqual(op('resize').options.map((f) => f.name), ['callback_url']);
  assert.ok(!op('resize').params.some((f) => f.name === 'callback_url'));
  const rotate = op('rotate').params.find((f) => f.name === 'angle');
  assert.equal(rotate.required, true);
  const sigma = op('blur').params.find((f) => f.name === 'sigma');
  assert.deepEqual([sigma.kind, sigma.minimum, sigma.maximum, sigma.required], ['number', 0.1, 100, true]);
  const steps = op('pipeline').params.find((f) => f.name === 'steps');
  assert.equal(steps.kind, 'steps');
  assert.deepEqual([steps.minItems, steps.maxItems, steps.discriminator], [1, 10, 'op']);
  const stepOps = steps.steps.map((s) => s.name);
  for (const n of ['resize', 'thumbnail', 'dither', 'rotate', 'flip', 'crop', 'blur', 'sharpen', 'grayscale', 'convert'])
    assert.ok(stepOps.includes(n), `no ${n} step`);
  const crop = steps.steps.find((s) => s.name === 'crop');
  assert.deepEqual(crop.params.filter((p) => p.required).map((p) => p.name), ['width', 'height']);
  assert.ok(!crop.params.some((p) => p.name === 'op'));
});
