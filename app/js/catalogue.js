// catalogue — the operations of this server, read from its OpenAPI document
// (GET /openapi.json): every POST /<name> with a multipart/form-data body is
// an operation; its schema's properties are its inputs (format: binary),
// its parameters (type, range, default, enum, description) and its job
// options; a `steps` array whose items are a oneOf discriminated by `op` is
// a pipeline's list of steps. No DOM here: the form is built by form.js.

/** Follows local $refs ("#/components/...") and merges allOf. */
export function resolve(doc, schema, depth = 0) {
  if (!schema || typeof schema !== 'object' || depth > 20)
    return schema || {};
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref.replace(/^#\//, '').split('/')
      .reduce((node, key) => (node ? node[key.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), doc);
    const { $ref, ...rest } = schema;
    return { ...resolve(doc, target, depth + 1), ...rest };
  }
  if (Array.isArray(schema.allOf)) {
    const { allOf, ...rest } = schema;
    return allOf.reduce((acc, part) => ({ ...acc, ...resolve(doc, part, depth + 1) }), rest);
  }
  return schema;
}

/** A form field from one property schema. */
function fieldOf(doc, name, raw, required) {
  const s = resolve(doc, raw);
  const field = {
    name,
    required,
    description: s.description || '',
    default: s.default,
    enum: Array.isArray(s.enum) ? s.enum.map(String) : null,
    minimum: s.minimum,
    maximum: s.maximum,
    format: s.format,
    pattern: s.pattern,
    maxLength: s.maxLength,
    option: /^Job option/i.test(s.description || ''),
    kind: 'text',
  };
  if (s.type === 'string' && s.format === 'binary')
    field.kind = 'file';
  else if (s.type === 'integer' || s.type === 'number')
    field.kind = s.type;
  else if (s.type === 'boolean')
    field.kind = 'boolean';
  else if (field.enum)
    field.kind = 'enum';
  else if (s.type === 'string' && s.format === 'uri')
    field.kind = 'url';
  if (s.type === 'array') {
    const items = resolve(doc, s.items);
    const variants = (items.oneOf || []).map((v) => resolve(doc, v));
    const key = items.discriminator?.propertyName || 'op';
    field.kind = 'steps';
    field.minItems = s.minItems ?? 1;
    field.maxItems = s.maxItems ?? 10;
    field.discriminator = key;
    field.steps = variants.map((v) => {
      const props = v.properties || {};
      const opName = resolve(doc, props[key]).enum?.[0];
      const req = new Set(v.required || []);
      return {
        name: String(opName),
        description: (v.description || '').replace(/^A `[^`]+` step: /, ''),
        params: Object.entries(props).filter(([n]) => n !== key)
          .map(([n, p]) => fieldOf(doc, n, p, req.has(n))),
      };
    }).filter((st) => st.name && st.name !== 'undefined');
  }
  return field;
}

/** The operations, in the document's order: [{ name, summary, description,
 * files: [field], params: [field], options: [field], jsonResult }]. */
export function readCatalogue(doc) {
  const operations = [];
  for (const [path, item] of Object.entries(doc.paths || {})) {
    const m = /^\/([a-z][a-z0-9_]*)$/.exec(path);
    const post = item.post;
    const body = post && resolve(doc, post.requestBody);
    const schema = body?.content?.['multipart/form-data']?.schema;
    if (!m || !schema)
      continue;
    const s = resolve(doc, schema);
    const required = new Set(s.required || []);
    const fields = Object.entries(s.properties || {})
      .map(([n, p]) => fieldOf(doc, n, p, required.has(n)));
    const result = resolve(doc, doc.paths[`/${m[1]}/{id}`]?.get?.responses?.['200']);
    const types = Object.keys(result?.content || {});
    operations.push({
      name: m[1],
      summary: post.summary || '',
      description: post.description || '',
      files: fields.filter((f) => f.kind === 'file'),
      params: fields.filter((f) => f.kind !== 'file' && !f.option),
      options: fields.filter((f) => f.kind !== 'file' && f.option),
      jsonResult: types.length > 0 && types.every((t) => t.includes('json')),
    });
  }
  return operations;
}

/** The job states the document names (for the history filter). */
export function jobStates(doc) {
  return resolve(doc, doc.components?.schemas?.JobState).enum
    || ['queued', 'processing', 'complete', 'failed'];
}
