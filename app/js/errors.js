// errors — which form field an API error names. The API's messages name
// the parameter first ("width must be an integer from 1 to 16384", "sigma is
// required", "callback_url: ..."), the upload field in quotes ("no file was
// uploaded in field 'image2'"), and a pipeline step by its index
// ("steps[1] (crop): width must be ...", "steps[1]: op must name ...").
// No DOM here.

const FILE_CODES = new Set(['missing_file', 'empty_file', 'unsupported_media_type',
  'payload_too_large', 'image_too_large']);

/** The parameter a message starts with, if it is one of `names`. */
function leadingName(message, names) {
  const quoted = /\bfield '([^']+)'/.exec(message);
  if (quoted && names.includes(quoted[1]))
    return quoted[1];
  const m = /^([a-z_][a-z0-9_]*)(?=[ :])/.exec(message);
  return m && names.includes(m[1]) ? m[1] : null;
}

/** Where an error belongs: { field, step, stepField, message }.
 *  field: a top-level field name or null (the whole form);
 *  step: the 0-based index of a pipeline step, or null;
 *  stepField: the step's field name (or 'op'), or null (the whole step).
 *  message: the text to show there (for a step, without its "steps[i]"). */
export function locateError(error, { names, fileNames = [], stepNames = () => [] }) {
  const message = String(error.message || '');
  const step = /^steps\[(\d+)\](?: \(([a-z0-9_]+)\))?: ([\s\S]*)$/.exec(message);
  if (step && names.includes('steps')) {
    const index = Number(step[1]);
    const rest = step[3];
    const inner = leadingName(rest, ['op', ...stepNames(index)]);
    return { field: 'steps', step: index, stepField: inner, message: rest };
  }
  const field = leadingName(message, [...names, ...fileNames]);
  if (field)
    return { field, step: null, stepField: null, message };
  if (FILE_CODES.has(error.code) && fileNames.length === 1)
    return { field: fileNames[0], step: null, stepField: null, message };
  return { field: null, step: null, stepField: null, message };
}
