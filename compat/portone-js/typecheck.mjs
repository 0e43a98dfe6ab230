// Checks a JSON value against a type of the PortOne JS SDK, read from the SDK's own generated
// `.d.ts` files: the SDK itself only JSON-parses answers and casts them, so a missing required
// field would surface in the app, not in the SDK. This makes it surface here.
//
// Strict where an app would break: a required field missing, a wrong primitive type, `null`
// where the type has no null, a value outside a closed string union, or a discriminator
// (`status`, `type`) the SDK would only see as `Unrecognized`. Extra fields are ignored.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// The SDK's package exports no `.d.ts` paths: read them from its installed folder.
const SDK_DIST = join(dirname(fileURLToPath(import.meta.url)), "node_modules/@portone/server-sdk/dist");
const GENERATED = join(SDK_DIST, "generated");

const byName = new Map();
(function index(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) index(path);
    else if (entry.name.endsWith(".d.ts")) {
      const name = entry.name.slice(0, -".d.ts".length);
      if (!byName.has(name)) byName.set(name, path);
    }
  }
})(GENERATED);

const parsed = new Map();

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/** Splits `text` on `sep` outside braces, brackets, parentheses and angle brackets. */
function splitTop(text, sep) {
  const parts = [];
  let depth = 0;
  let start = 0;
  let quote = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if ("{[(<".includes(c)) depth++;
    else if ("}])>".includes(c)) depth--;
    else if (c === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

function parseExpr(expr, file) {
  expr = expr.trim();
  const members = splitTop(expr, "|");
  if (members.length > 1) return { kind: "union", members: members.map((m) => parseExpr(m, file)) };
  if (expr.startsWith("(") && expr.endsWith(")")) return parseExpr(expr.slice(1, -1), file);
  // `string & {}`: TypeScript's open string (autocompletes the literals, takes any string).
  const parts = splitTop(expr, "&").filter((p) => p !== "{}");
  if (parts.length === 1 && parts[0] !== expr) return parseExpr(parts[0], file);
  if (parts.length > 1) throw new Error(`cannot read intersection ${expr} in ${file}`);
  if (expr.endsWith("[]")) return { kind: "array", of: parseExpr(expr.slice(0, -2), file) };
  if (expr.startsWith('"')) return { kind: "literal", value: JSON.parse(expr) };
  if (expr.startsWith("{")) return parseObject(expr.slice(1, -1), file);
  if (["string", "number", "boolean"].includes(expr)) return { kind: expr };
  if (expr === "Unrecognized") return { kind: "unrecognized" };
  if (/^(unknown|any|object|Record<.*>)$/.test(expr)) return { kind: "any" };
  return { kind: "ref", name: expr, file };
}

function parseObject(body, file) {
  const props = [];
  for (const part of splitTop(body, ";")) {
    const m = /^(?:readonly\s+)?"?([A-Za-z0-9_$]+)"?(\?)?\s*:\s*([\s\S]+)$/.exec(part);
    if (!m) throw new Error(`cannot read property ${JSON.stringify(part)} in ${file}`);
    props.push({ name: m[1], optional: m[2] === "?", type: parseExpr(m[3], file) });
  }
  return { kind: "object", props };
}

/** The parsed definition of a named SDK type. */
export function definition(name) {
  if (parsed.has(name)) return parsed.get(name);
  const file = byName.get(name);
  if (!file) throw new Error(`no SDK type ${name}`);
  const text = stripComments(readFileSync(file, "utf8"));
  const m = new RegExp(`export type ${name}\\s*=([\\s\\S]*?);\\s*(?:export |$)`).exec(text + "\nexport ");
  if (!m) throw new Error(`cannot find type ${name} in ${file}`);
  const def = parseExpr(m[1], file);
  parsed.set(name, def);
  return def;
}

function resolveRef(t) {
  return t.kind === "ref" ? definition(t.name) : t;
}

/** Object members of a (possibly nested) union, plus whether it has an Unrecognized arm. */
function leaves(t, out = { objects: [], literals: [], open: false, other: [] }) {
  t = resolveRef(t);
  if (t.kind === "union") for (const m of t.members) leaves(m, out);
  else if (t.kind === "object") {
    const unrecognized = t.props.length === 1 && resolveRef(t.props[0].type).kind === "unrecognized";
    if (unrecognized) out.open = true;
    else out.objects.push(t);
  } else if (t.kind === "literal") out.literals.push(t.value);
  else if (t.kind === "unrecognized") out.open = true;
  else out.other.push(t);
  return out;
}

function discriminator(objects) {
  const first = objects[0];
  for (const p of first.props) {
    const all = objects.every((o) =>
      o.props.some((q) => q.name === p.name && resolveRef(q.type).kind === "literal"),
    );
    if (all) return p.name;
  }
  return null;
}

function describe(v) {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

function check(value, t, path, errors) {
  t = resolveRef(t);
  switch (t.kind) {
    case "any":
      return;
    case "string":
    case "number":
    case "boolean":
      if (typeof value !== t.kind || (t.kind === "number" && !Number.isFinite(value)))
        errors.push(`${path}: ${describe(value)} where the SDK has ${t.kind}`);
      return;
    case "literal":
      if (value !== t.value) errors.push(`${path}: ${JSON.stringify(value)} is not ${JSON.stringify(t.value)}`);
      return;
    case "unrecognized":
      errors.push(`${path}: only the SDK's Unrecognized arm matches`);
      return;
    case "array":
      if (!Array.isArray(value)) {
        errors.push(`${path}: ${describe(value)} where the SDK has an array`);
        return;
      }
      value.forEach((item, i) => check(item, t.of, `${path}[${i}]`, errors));
      return;
    case "object":
      if (describe(value) !== "object") {
        errors.push(`${path}: ${describe(value)} where the SDK has an object`);
        return;
      }
      for (const p of t.props) {
        if (!(p.name in value) || value[p.name] === undefined) {
          if (!p.optional) errors.push(`${path}.${p.name}: required by the SDK, missing`);
        } else if (value[p.name] === null) {
          errors.push(`${path}.${p.name}: null where the SDK has no null`);
        } else {
          check(value[p.name], p.type, `${path}.${p.name}`, errors);
        }
      }
      return;
    case "union": {
      const l = leaves(t);
      if (l.objects.length > 0) {
        if (describe(value) !== "object") {
          errors.push(`${path}: ${describe(value)} where the SDK has an object`);
          return;
        }
        const key = discriminator(l.objects);
        if (!key) throw new Error(`no discriminator at ${path}`);
        const arm = l.objects.find((o) =>
          o.props.some((q) => q.name === key && resolveRef(q.type).value === value[key]),
        );
        if (!arm) {
          errors.push(`${path}.${key}: ${JSON.stringify(value[key])} is no variant the SDK knows`);
          return;
        }
        check(value, arm, path, errors);
        return;
      }
      if (l.literals.length > 0 && l.other.length === 0) {
        if (typeof value !== "string" || !l.literals.includes(value))
          errors.push(`${path}: ${JSON.stringify(value)} is not one of the SDK's values`);
        return;
      }
      // A union of primitives: any member will do.
      for (const m of t.members) {
        const sub = [];
        check(value, m, path, sub);
        if (sub.length === 0) return;
      }
      errors.push(`${path}: ${describe(value)} matches no member of the SDK's union`);
      return;
    }
    default:
      throw new Error(`unhandled type kind ${t.kind} at ${path}`);
  }
}

/** The places where `value` does not fit the SDK type `name` (empty: it fits). */
export function mismatches(value, name) {
  const errors = [];
  check(value, { kind: "ref", name }, name, errors);
  return errors;
}

export const sdkVersion = JSON.parse(readFileSync(resolve(SDK_DIST, "../package.json"), "utf8")).version;
