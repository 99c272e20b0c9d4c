// A validator for the subset of JSON Schema that pydantic writes for the sync protocol
// (protocol.json, generated from sync/): types, anyOf, $ref, required, additionalProperties,
// enum, lengths, bounds and the uuid/date/date-time formats. Anything it does not know fails
// closed: a list the app cannot check is a list it does not show.
import protocol from "./protocol.json";

const FORMATS = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  date: /^\d{4}-\d{2}-\d{2}$/,
  "date-time": /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
};
const KNOWN = new Set([
  "type", "properties", "required", "items", "anyOf", "$ref", "$defs", "additionalProperties", "enum", "format",
  "minLength", "maxLength", "minimum", "maximum", "maxItems", "minItems", "title", "description", "default",
]);

export class SchemaError extends Error {}

function typeOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (Number.isInteger(value)) return "integer";
  return typeof value;
}

function check(schema, value, root, path) {
  for (const key of Object.keys(schema)) {
    if (!KNOWN.has(key)) throw new SchemaError(`${path}: unsupported schema keyword ${key}`);
  }
  if (schema.$ref) {
    const name = schema.$ref.replace("#/$defs/", "");
    const target = root.$defs && root.$defs[name];
    if (!target) throw new SchemaError(`${path}: unknown $ref ${schema.$ref}`);
    return check(target, value, root, path);
  }
  if (schema.anyOf) {
    for (const option of schema.anyOf) {
      try { check(option, value, root, path); return; } catch (error) { if (!(error instanceof SchemaError)) throw error; }
    }
    throw new SchemaError(`${path}: matches none of the allowed shapes`);
  }
  if (schema.enum && !schema.enum.includes(value)) throw new SchemaError(`${path}: not an allowed value`);
  const type = typeOf(value);
  if (schema.type) {
    const fits = schema.type === type || (schema.type === "number" && (type === "integer" || type === "number"));
    if (!fits) throw new SchemaError(`${path}: expected ${schema.type}, got ${type}`);
  }
  if (type === "string") {
    if (schema.format) {
      const pattern = FORMATS[schema.format];
      if (!pattern || !pattern.test(value)) throw new SchemaError(`${path}: not a ${schema.format}`);
    }
    if (schema.minLength !== undefined && value.length < schema.minLength) throw new SchemaError(`${path}: too short`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) throw new SchemaError(`${path}: too long`);
  }
  if (type === "integer" || type === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) throw new SchemaError(`${path}: too small`);
    if (schema.maximum !== undefined && value > schema.maximum) throw new SchemaError(`${path}: too large`);
  }
  if (type === "array") {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) throw new SchemaError(`${path}: too many items`);
    if (schema.items) value.forEach((item, index) => check(schema.items, item, root, `${path}/${index}`));
  }
  if (type === "object") {
    const properties = schema.properties || {};
    for (const name of schema.required || []) {
      if (!(name in value)) throw new SchemaError(`${path}/${name}: missing`);
    }
    for (const [name, item] of Object.entries(value)) {
      if (properties[name]) check(properties[name], item, root, `${path}/${name}`);
      else if (schema.additionalProperties === false) throw new SchemaError(`${path}/${name}: not allowed`);
    }
  }
}

export function validate(schema, value) {
  check(schema, value, schema, "");
  return value;
}

/** A decrypted pull, checked against the protocol's VisitList (throws SchemaError). */
export function validVisitList(value) {
  return validate(protocol.visit_list, value);
}

/** An event the app is about to keep in its outbox, checked as the server will check it. */
export function validEvent(event) {
  validate(protocol.push_event, event);
  const payloadSchema = protocol.event_payloads[event.kind];
  if (!payloadSchema) throw new SchemaError(`/kind: unknown event kind ${event.kind}`);
  validate(payloadSchema, event.payload);
  return event;
}
