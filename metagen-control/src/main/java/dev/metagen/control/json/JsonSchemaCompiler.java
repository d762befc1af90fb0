package dev.metagen.control.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.control.grammar.CompileBudget;
import dev.metagen.control.grammar.Expr;
import dev.metagen.control.grammar.Grammar;
import dev.metagen.control.grammar.Utf8Ranges;
import dev.metagen.control.regex.RegexParser;
import dev.metagen.core.MetagenException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compiles a JSON Schema (draft 2020-12 and draft 7 as used in practice) into a {@link Grammar} of compact JSON
 * text (no insignificant whitespace) whose every sentence validates. Object properties are generated in schema
 * order (required and optional alike, then additional ones). An unsupported keyword is an error naming its JSON
 * pointer, unless best-effort mode drops it and reports it in {@link Result#dropped()}.
 *
 * <p>Example:
 * <pre>{@code
 * JsonSchemaCompiler.Result r = JsonSchemaCompiler.compile("""
 *         {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}""", false);
 * GrammarAutomaton automaton = GrammarAutomaton.of(r.grammar());
 * int state = automaton.walk(automaton.start(), "{\"name\":\"Lily\"}".getBytes(StandardCharsets.UTF_8));
 * boolean valid = state != GrammarAutomaton.DEAD && automaton.accepts(state);   // compact JSON: true
 * // as a decoding constraint: Constraints.jsonSchema(schemaJson, false, model.tokenizer())
 * }</pre>
 */
public final class JsonSchemaCompiler {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /**
     * The grammar and, in best-effort mode, the JSON pointers of the keywords that were dropped.
     *
     * @param grammar the grammar of the JSON texts the schema accepts
     * @param dropped the JSON pointers of dropped keywords (empty unless best-effort)
     */
    public record Result(Grammar grammar, List<String> dropped) {}

    /** Keywords with no effect on validity (annotations) or handled by their parent. */
    private static final Set<String> IGNORED = Set.of("$schema", "$id", "id", "title", "description", "default", "examples",
            "$comment", "deprecated", "readOnly", "writeOnly", "definitions", "$defs", "contentMediaType",
            "contentEncoding", "$anchor", "markdownDescription", "example", "x-intellij-html-description",
            "errorMessage", "$vocabulary", "discriminator", "nullable_annotation");

    private final JsonNode root;
    private final boolean bestEffort;
    /** Draft 4-7: keywords beside "$ref" are ignored. */
    private final boolean refOverridesSiblings;
    private final List<String> dropped = new ArrayList<>();
    private final Map<String, Expr> rules = new LinkedHashMap<>();
    private final Map<String, String> refRules = new HashMap<>();
    private int counter;

    private JsonSchemaCompiler(JsonNode root, boolean bestEffort, boolean draft7) {
        this.root = root;
        this.bestEffort = bestEffort;
        this.refOverridesSiblings = draft7;
    }

    /** Whether the document declares draft 7 or older via "$schema". */
    static boolean declaresDraft7OrOlder(JsonNode root) {
        String s = root.path("$schema").asText("");
        return s.contains("draft-07") || s.contains("draft-06") || s.contains("draft-04") || s.contains("draft-03");
    }

    /**
     * Compiles a JSON Schema given as text; draft 7 rules apply when its {@code $schema} says so.
     *
     * @param schemaJson the schema's JSON text
     * @param bestEffort drop unsupported keywords instead of failing
     * @return the grammar and the dropped keywords
     */
    public static Result compile(String schemaJson, boolean bestEffort) {
        JsonNode node;
        try {
            node = MAPPER.readTree(schemaJson);
        } catch (JsonProcessingException e) {
            throw new MetagenException("JSON Schema is not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null) {
            throw new MetagenException("JSON Schema is empty");
        }
        return compile(node, bestEffort);
    }

    /**
     * Compiles a parsed JSON Schema; draft 7 rules apply when its {@code $schema} says so.
     *
     * @param schema the schema
     * @param bestEffort drop unsupported keywords instead of failing
     * @return the grammar and the dropped keywords
     */
    public static Result compile(JsonNode schema, boolean bestEffort) {
        return compile(schema, bestEffort, declaresDraft7OrOlder(schema));
    }

    /**
     * Compiles a parsed JSON Schema under the rules of draft 7 or of 2020-12.
     *
     * @param draft7 apply draft 7 rules (keywords beside "$ref" are ignored)
     * @param schema the schema
     * @param bestEffort drop unsupported keywords instead of failing
     * @return the grammar and the dropped keywords
     */
    public static Result compile(JsonNode schema, boolean bestEffort, boolean draft7) {
        JsonSchemaCompiler c = new JsonSchemaCompiler(schema, bestEffort, draft7);
        c.addCommonRules();
        Expr top = c.schema(schema, "");
        c.rules.put("root", top);
        return new Result(new Grammar(c.rules, "root"), List.copyOf(c.dropped));
    }

    /**
     * Any JSON object (OpenAI's {@code json_object} mode).
     *
     * @return the grammar
     */
    public static Grammar jsonObjectGrammar() {
        JsonSchemaCompiler c = new JsonSchemaCompiler(MAPPER.createObjectNode(), false, false);
        c.addCommonRules();
        c.rules.put("root", new Expr.Ref("object"));
        return new Grammar(c.rules, "root");
    }

    /**
     * Any JSON value.
     *
     * @return the grammar
     */
    public static Grammar jsonValueGrammar() {
        JsonSchemaCompiler c = new JsonSchemaCompiler(MAPPER.createObjectNode(), false, false);
        c.addCommonRules();
        c.rules.put("root", new Expr.Ref("value"));
        return new Grammar(c.rules, "root");
    }

    // ---- shared rules -------------------------------------------------------------------------------------

    private static Expr ref(String name) {
        return new Expr.Ref(name);
    }

    private static Expr lit(String s) {
        return Expr.literal(s);
    }

    private static Expr opt(Expr e) {
        return new Expr.Repeat(e, 0, 1);
    }

    private static Expr star(Expr e) {
        return new Expr.Repeat(e, 0, -1);
    }

    private void addCommonRules() {
        Expr hex = Expr.chars(false, '0', '9', 'a', 'f', 'A', 'F');
        // a character of a JSON string: anything but quote, backslash and control characters, or an escape
        rules.put("char", Expr.alt(Expr.chars(true, '"', '"', '\\', '\\', 0, 0x1F),
                Expr.seq(lit("\\"), Expr.alt(Expr.chars(false, '"', '"', '\\', '\\', '/', '/', 'b', 'b', 'f', 'f', 'n', 'n', 'r', 'r', 't', 't'),
                        Expr.seq(lit("u"), new Expr.Repeat(hex, 4, 4))))));
        rules.put("string", Expr.seq(lit("\""), star(ref("char")), lit("\"")));
        Expr digits = new Expr.Repeat(NumberRanges.DIGIT, 1, -1);
        Expr intPart = Expr.alt(lit("0"), Expr.seq(Expr.chars(false, '1', '9'), star(NumberRanges.DIGIT)));
        // integers without a fraction: 1.0 is an integer since draft 6, but draft 4 validators (and many
        // others) reject it, so the grammar keeps to the form every validator accepts
        rules.put("integer", Expr.seq(opt(lit("-")), intPart));
        rules.put("number", Expr.seq(opt(lit("-")), intPart, opt(Expr.seq(lit("."), digits)),
                opt(Expr.seq(Expr.chars(false, 'e', 'e', 'E', 'E'), opt(Expr.chars(false, '+', '+', '-', '-')), digits))));
        rules.put("boolean", Expr.alt(lit("true"), lit("false")));
        rules.put("null", lit("null"));
        rules.put("value", Expr.alt(ref("object"), ref("array"), ref("string"), ref("number"), ref("boolean"), ref("null")));
        Expr member = Expr.seq(ref("string"), lit(":"), ref("value"));
        rules.put("object", Expr.seq(lit("{"), opt(Expr.seq(member, star(Expr.seq(lit(","), member)))), lit("}")));
        rules.put("array", Expr.seq(lit("["), opt(Expr.seq(ref("value"), star(Expr.seq(lit(","), ref("value"))))), lit("]")));
    }

    private static final Expr NOTHING = new Expr.Alt(List.of());

    private MetagenException unsupported(String pointer, String what) {
        return new MetagenException("JSON Schema keyword at " + (pointer.isEmpty() ? "#" : "#" + pointer) + " is not supported: " + what);
    }

    /** Unsupported keyword: error, or (best effort) note it and carry on without it. */
    private void drop(String pointer, String what) {
        if (!bestEffort) {
            throw unsupported(pointer, what);
        }
        String entry = (pointer.isEmpty() ? "#" : "#" + pointer) + " (" + what + ")";
        if (!dropped.contains(entry)) {
            dropped.add(entry);
        }
    }

    private static String escape(String key) {
        return key.replace("~", "~0").replace("/", "~1");
    }

    // ---- schemas ------------------------------------------------------------------------------------------

    private Expr schema(JsonNode s, String ptr) {
        CompileBudget.tick(1);
        if (s.isBoolean()) {
            return s.booleanValue() ? ref("value") : NOTHING;
        }
        if (!s.isObject()) {
            throw new MetagenException("JSON Schema at #" + ptr + " must be an object or a boolean");
        }
        ObjectNode o = (ObjectNode) s;
        if (o.has("$ref") && refOverridesSiblings) {
            return withRef(o, ptr);
        }
        for (String k : iter(o.fieldNames())) {
            if (UNSUPPORTED.contains(k)) {
                drop(ptr + "/" + escape(k), k);
            }
        }
        if (o.has("not")) {
            drop(ptr + "/not", "not");
        }
        if (o.has("if")) {
            drop(ptr + "/if", "if/then/else");
        }
        if (o.has("$ref")) {
            return withRef(o, ptr);
        }
        if (o.has("allOf")) {
            return schema(mergeAllOf(o, ptr), ptr);
        }
        List<Expr> parts = new ArrayList<>();
        if (o.has("anyOf") || o.has("oneOf")) {
            String key = o.has("anyOf") ? "anyOf" : "oneOf";
            if (o.has("anyOf") && o.has("oneOf")) {
                drop(ptr + "/oneOf", "oneOf beside anyOf");
            }
            JsonNode list = o.get(key);
            ObjectNode rest = o.deepCopy();
            rest.remove(List.of("anyOf", "oneOf"));
            List<Expr> alts = new ArrayList<>();
            for (int k = 0; k < list.size(); k++) {
                JsonNode branch = list.get(k);
                if (hasConstraints(rest)) {
                    // sibling keywords apply to every branch: merge them in
                    ObjectNode merged = MAPPER.createObjectNode();
                    merged.set("allOf", MAPPER.createArrayNode().add(rest).add(branch));
                    alts.add(schema(merged, ptr + "/" + key + "/" + k));
                } else {
                    alts.add(schema(branch, ptr + "/" + key + "/" + k));
                }
            }
            return alts.size() == 1 ? alts.getFirst() : new Expr.Alt(alts);
        }
        if (o.has("const")) {
            return literalValue(o.get("const"), o, ptr);
        }
        if (o.has("enum")) {
            List<Expr> alts = new ArrayList<>();
            for (JsonNode v : o.get("enum")) {
                Expr e = literalValue(v, o, ptr);
                if (e != NOTHING) {
                    alts.add(e);
                }
            }
            if (alts.isEmpty()) {
                return NOTHING;
            }
            return alts.size() == 1 ? alts.getFirst() : new Expr.Alt(alts);
        }
        Set<String> types = types(o, ptr);
        if (!o.has("type") && !hasConstraints(o)) {
            return ref("value");
        }
        for (String t : types) {
            switch (t) {
                case "string" -> parts.add(string(o, ptr));
                case "integer" -> parts.add(number(o, ptr, true));
                case "number" -> parts.add(number(o, ptr, false));
                case "boolean" -> parts.add(ref("boolean"));
                case "null" -> parts.add(ref("null"));
                case "object" -> parts.add(object(o, ptr));
                case "array" -> parts.add(array(o, ptr));
                default -> throw new MetagenException("JSON Schema at #" + ptr + "/type: unknown type '" + t + "'");
            }
        }
        if (parts.isEmpty()) {
            return NOTHING;
        }
        return parts.size() == 1 ? parts.getFirst() : new Expr.Alt(parts);
    }

    private static final Set<String> KNOWN = Set.of("type", "properties", "required", "additionalProperties", "items",
            "prefixItems", "minItems", "maxItems", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "pattern", "format",
            "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "additionalItems",
            "uniqueItems", "multipleOf", "not", "if", "then", "else", "minProperties", "maxProperties",
            "patternProperties", "propertyNames", "dependencies", "dependentRequired", "dependentSchemas", "contains",
            "minContains", "maxContains", "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef");
    private static final Set<String> UNSUPPORTED = Set.of("dependencies", "dependentRequired", "dependentSchemas",
            "contains", "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef", "propertyNames");

    private static Iterable<String> iter(Iterator<String> it) {
        List<String> l = new ArrayList<>();
        it.forEachRemaining(l::add);
        return l;
    }

    private static boolean hasConstraints(ObjectNode o) {
        for (String k : iter(o.fieldNames())) {
            if (KNOWN.contains(k)) {
                return true;
            }
        }
        return false;
    }

    /** The types a schema allows: its "type", or all of them. */
    private Set<String> types(ObjectNode o, String ptr) {
        Set<String> out = new LinkedHashSet<>();
        JsonNode t = o.get("type");
        if (t != null) {
            if (t.isTextual()) {
                out.add(t.asText());
            } else if (t.isArray()) {
                for (JsonNode x : t) {
                    out.add(x.asText());
                }
            } else {
                throw new MetagenException("JSON Schema at #" + ptr + "/type must be a string or an array");
            }
            if (out.contains("number")) {
                out.remove("integer"); // number already covers integers
            }
            return out;
        }
        // without "type" every type is allowed; type-specific keywords only constrain their own type
        out.addAll(List.of("object", "array", "string", "number", "boolean", "null"));
        return out;
    }

    /** A const/enum value as compact JSON text, if it satisfies the sibling "type". */
    private Expr literalValue(JsonNode v, ObjectNode o, String ptr) {
        JsonNode t = o.get("type");
        if (t != null) {
            String vt = switch (v.getNodeType()) {
                case STRING -> "string";
                case NUMBER -> v.isIntegralNumber() || (v.isNumber() && v.decimalValue().stripTrailingZeros().scale() <= 0) ? "integer" : "number";
                case BOOLEAN -> "boolean";
                case NULL -> "null";
                case OBJECT -> "object";
                case ARRAY -> "array";
                default -> "?";
            };
            Set<String> allowed = new LinkedHashSet<>();
            if (t.isTextual()) {
                allowed.add(t.asText());
            } else {
                t.forEach(x -> allowed.add(x.asText()));
            }
            if (!allowed.contains(vt) && !(vt.equals("integer") && allowed.contains("number"))) {
                return NOTHING;
            }
        }
        return valueLiteral(v, ptr);
    }

    /** A JSON value as text, numbers matched by value (1, 1.0, 1.00), containers element by element. */
    private Expr valueLiteral(JsonNode v, String ptr) {
        if (v.isObject()) {
            List<Expr> items = new ArrayList<>();
            items.add(lit("{"));
            boolean first = true;
            for (String k : iter(v.fieldNames())) {
                if (!first) {
                    items.add(lit(","));
                }
                first = false;
                items.add(literalKey(k));
                items.add(lit(":"));
                items.add(valueLiteral(v.get(k), ptr));
            }
            items.add(lit("}"));
            return new Expr.Seq(items);
        }
        if (v.isArray()) {
            List<Expr> items = new ArrayList<>();
            items.add(lit("["));
            for (int i = 0; i < v.size(); i++) {
                if (i > 0) {
                    items.add(lit(","));
                }
                items.add(valueLiteral(v.get(i), ptr));
            }
            items.add(lit("]"));
            return new Expr.Seq(items);
        }
        if (v.isNumber()) {
            // numbers compare by value: 1, 1.0 and 1.00 are the same const
            BigDecimal d = v.decimalValue().stripTrailingZeros();
            if (d.scale() <= 0) {
                return Expr.seq(lit(d.toBigInteger().toString()), opt(Expr.seq(lit("."), new Expr.Repeat(lit("0"), 1, -1))));
            }
            String plain = d.toPlainString();
            return Expr.seq(lit(plain), star(lit("0")));
        }
        try {
            return lit(MAPPER.writeValueAsString(v));
        } catch (JsonProcessingException e) {
            throw new MetagenException("JSON Schema at #" + ptr + ": cannot serialise a const/enum value");
        }
    }

    // ---- $ref and allOf ------------------------------------------------------------------------------------

    private Expr withRef(ObjectNode o, String ptr) {
        String target = o.get("$ref").asText();
        ObjectNode rest = o.deepCopy();
        rest.remove("$ref");
        if (hasConstraints(rest) && !refOverridesSiblings) {
            ObjectNode merged = MAPPER.createObjectNode();
            ObjectNode refOnly = MAPPER.createObjectNode();
            refOnly.put("$ref", target);
            merged.set("allOf", MAPPER.createArrayNode().add(refOnly).add(rest));
            return schema(merged, ptr);
        }
        String name = refRules.get(target);
        if (name == null) {
            JsonNode resolved = resolve(target, ptr);
            name = "ref" + (++counter);
            refRules.put(target, name);
            rules.put(name, NOTHING); // placeholder so recursion can refer to it
            rules.put(name, schema(resolved, target.startsWith("#") ? target.substring(1) : ptr + "/$ref"));
        }
        return ref(name);
    }

    private JsonNode resolve(String target, String ptr) {
        if (!target.startsWith("#")) {
            if (target.equals(root.path("$id").asText(null))) {
                return root;
            }
            throw unsupported(ptr + "/$ref", "reference to another document '" + target + "'");
        }
        String frag = target.substring(1);
        if (frag.isEmpty()) {
            return root;
        }
        if (!frag.startsWith("/")) {
            JsonNode anchored = findAnchor(root, frag);
            if (anchored == null) {
                throw new MetagenException("JSON Schema at #" + ptr + "/$ref: anchor '" + frag + "' not found");
            }
            return anchored;
        }
        String decoded = java.net.URLDecoder.decode(frag.replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
        JsonNode n = root.at(decoded);
        if (n.isMissingNode()) {
            throw new MetagenException("JSON Schema at #" + ptr + "/$ref: '" + target + "' does not resolve");
        }
        return n;
    }

    private static JsonNode findAnchor(JsonNode n, String anchor) {
        if (n.isObject()) {
            if (anchor.equals(n.path("$anchor").asText(null))) {
                return n;
            }
            for (JsonNode c : n) {
                JsonNode r = findAnchor(c, anchor);
                if (r != null) {
                    return r;
                }
            }
        } else if (n.isArray()) {
            for (JsonNode c : n) {
                JsonNode r = findAnchor(c, anchor);
                if (r != null) {
                    return r;
                }
            }
        }
        return null;
    }

    /** Merges the subschemas of allOf (and the siblings) into one schema; conflicting keywords are unsupported. */
    private ObjectNode mergeAllOf(ObjectNode o, String ptr) {
        ObjectNode acc = o.deepCopy();
        acc.remove("allOf");
        JsonNode list = o.get("allOf");
        for (int k = 0; k < list.size(); k++) {
            JsonNode part = list.get(k);
            String p = ptr + "/allOf/" + k;
            int guard = 0;
            while (part.isObject() && part.has("$ref") && guard++ < 32) {
                ObjectNode copy = part.deepCopy();
                JsonNode target = resolve(copy.remove("$ref").asText(), p);
                if (!target.isObject()) {
                    part = target;
                    break;
                }
                ObjectNode t = target.deepCopy();
                copy.fields().forEachRemaining(e -> t.set(e.getKey(), e.getValue()));
                part = t;
            }
            if (part.isBoolean()) {
                if (!part.booleanValue()) {
                    ObjectNode never = MAPPER.createObjectNode();
                    never.set("enum", MAPPER.createArrayNode());
                    return never;
                }
                continue;
            }
            if (part.has("allOf")) {
                part = mergeAllOf((ObjectNode) part, p);
            }
            mergeInto(acc, (ObjectNode) part, p);
        }
        return acc;
    }

    private void mergeInto(ObjectNode acc, ObjectNode part, String ptr) {
        // items only sees its sibling prefixItems
        if ((acc.has("items") && part.has("prefixItems")) || (part.has("items") && acc.has("prefixItems"))) {
            drop(ptr + "/items", "items next to prefixItems from another allOf branch");
        }
        // additionalProperties only sees its sibling properties: merging would change its meaning
        for (ObjectNode[] pair : new ObjectNode[][] {{acc, part}, {part, acc}}) {
            JsonNode add = pair[0].get("additionalProperties");
            if (add != null && !(add.isBoolean() && add.booleanValue())) {
                for (String name : iter(pair[1].path("properties").fieldNames())) {
                    if (!pair[0].path("properties").has(name)) {
                        drop(ptr + "/additionalProperties", "additionalProperties next to properties from another allOf branch");
                        break;
                    }
                }
            }
        }
        for (String k : iter(part.fieldNames())) {
            JsonNode v = part.get(k);
            JsonNode old = acc.get(k);
            if (old == null || IGNORED.contains(k)) {
                acc.set(k, v.deepCopy());
                continue;
            }
            switch (k) {
                case "properties" -> {
                    ObjectNode props = (ObjectNode) old;
                    for (String name : iter(v.fieldNames())) {
                        if (props.has(name) && !props.get(name).equals(v.get(name))) {
                            ObjectNode both = MAPPER.createObjectNode();
                            both.set("allOf", MAPPER.createArrayNode().add(props.get(name)).add(v.get(name)));
                            props.set(name, both);
                        } else {
                            props.set(name, v.get(name).deepCopy());
                        }
                    }
                }
                case "required" -> {
                    Set<String> names = new LinkedHashSet<>();
                    old.forEach(x -> names.add(x.asText()));
                    v.forEach(x -> names.add(x.asText()));
                    ArrayNode arr = MAPPER.createArrayNode();
                    names.forEach(arr::add);
                    acc.set("required", arr);
                }
                case "type" -> {
                    Set<String> a = new LinkedHashSet<>();
                    if (old.isTextual()) {
                        a.add(old.asText());
                    } else {
                        old.forEach(x -> a.add(x.asText()));
                    }
                    Set<String> b = new LinkedHashSet<>();
                    if (v.isTextual()) {
                        b.add(v.asText());
                    } else {
                        v.forEach(x -> b.add(x.asText()));
                    }
                    if (a.contains("number") && b.contains("integer")) {
                        a.add("integer");
                    }
                    if (b.contains("number") && a.contains("integer")) {
                        b.add("integer");
                    }
                    a.retainAll(b);
                    ArrayNode arr = MAPPER.createArrayNode();
                    a.forEach(arr::add);
                    acc.set("type", arr);
                }
                case "minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties" -> {
                    if (old.isNumber() && v.isNumber()) {
                        acc.set(k, old.decimalValue().compareTo(v.decimalValue()) >= 0 ? old : v);
                    } else if (!old.equals(v)) {
                        drop(ptr + "/" + k, "conflicting " + k + " in allOf");
                    }
                }
                case "maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties" -> {
                    if (old.isNumber() && v.isNumber()) {
                        acc.set(k, old.decimalValue().compareTo(v.decimalValue()) <= 0 ? old : v);
                    } else if (!old.equals(v)) {
                        drop(ptr + "/" + k, "conflicting " + k + " in allOf");
                    }
                }
                default -> {
                    if (!old.equals(v)) {
                        if (k.equals("anyOf") || k.equals("oneOf")) {
                            // distributing (A|B) & (C|D) into a product could explode: keep the first list
                            drop(ptr + "/" + k, "a second " + k + " inside allOf");
                        } else if (k.equals("additionalProperties") && old.isBoolean() && v.isBoolean()) {
                            acc.put(k, old.booleanValue() && v.booleanValue());
                        } else {
                            drop(ptr + "/" + k, "conflicting '" + k + "' in allOf");
                        }
                    }
                }
            }
        }
    }

    // ---- strings --------------------------------------------------------------------------------------------

    private Expr string(ObjectNode o, String ptr) {
        int min = o.has("minLength") ? o.get("minLength").asInt() : 0;
        int max = o.has("maxLength") ? o.get("maxLength").asInt() : -1;
        if (max >= 0 && max < min) {
            return NOTHING;
        }
        if (o.has("pattern")) {
            if (o.has("minLength") || o.has("maxLength")) {
                drop(ptr + "/pattern", "pattern together with minLength/maxLength");
            }
            String pattern = o.get("pattern").asText();
            Expr inner;
            try {
                inner = patternExpr(pattern);
            } catch (MetagenException e) {
                drop(ptr + "/pattern", e.getMessage());
                return ref("string");
            }
            return Expr.seq(lit("\""), inner, lit("\""));
        }
        if (o.has("format")) {
            Expr f = format(o.get("format").asText());
            if (f != null) {
                return Expr.seq(lit("\""), f, lit("\""));
            }
            // unknown formats are annotations only (2020-12 default)
        }
        if (min == 0 && max < 0) {
            return ref("string");
        }
        if (min > 10_000 || max > 10_000) {
            drop(ptr + "/maxLength", "string length bounds above 10000");
            return ref("string");
        }
        // JSON Schema counts code points; "char" is one code point (raw or escaped)
        return Expr.seq(lit("\""), new Expr.Repeat(ref("char"), min, max), lit("\""));
    }

    /** A regex over the decoded string value, re-expressed over its JSON-escaped text; unanchored ends get ".*". */
    private static Expr patternExpr(String pattern) {
        boolean anchoredStart = pattern.startsWith("^");
        boolean anchoredEnd = pattern.endsWith("$") && !pattern.endsWith("\\$");
        Expr e = jsonEscaped(RegexParser.parse(pattern));
        Expr any = star(ref("char"));
        List<Expr> items = new ArrayList<>();
        if (!anchoredStart) {
            items.add(any);
        }
        items.add(e);
        if (!anchoredEnd) {
            items.add(any);
        }
        return new Expr.Seq(items);
    }

    /** Rewrites a code-point expression so it matches the JSON string-literal encoding of its strings. */
    static Expr jsonEscaped(Expr e) {
        return switch (e) {
            case Expr.Literal(byte[] bytes) -> {
                String s = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
                StringBuilder sb = new StringBuilder();
                s.codePoints().forEach(cp -> sb.append(escapeCodePoint(cp)));
                yield lit(sb.toString());
            }
            case Expr.CharClass c -> {
                int[] norm = Utf8Ranges.normalize(c.ranges(), c.negated());
                List<Expr> alts = new ArrayList<>();
                // the characters that stand for themselves
                int[] safe = intersect(norm, Utf8Ranges.normalize(new int[] {'"', '"', '\\', '\\', 0, 0x1F}, true));
                if (safe.length > 0) {
                    alts.add(new Expr.CharClass(safe, false, false));
                }
                for (int cp : new int[] {'"', '\\'}) {
                    if (contains(norm, cp)) {
                        alts.add(lit(escapeCodePoint(cp)));
                    }
                }
                for (int cp = 0; cp < 0x20; cp++) {
                    if (contains(norm, cp)) {
                        alts.add(lit(escapeCodePoint(cp)));
                    }
                }
                yield alts.size() == 1 ? alts.getFirst() : new Expr.Alt(alts);
            }
            case Expr.Seq(List<Expr> items) -> new Expr.Seq(items.stream().map(JsonSchemaCompiler::jsonEscaped).toList());
            case Expr.Alt(List<Expr> options) -> new Expr.Alt(options.stream().map(JsonSchemaCompiler::jsonEscaped).toList());
            case Expr.Repeat(Expr item, int min, int max) -> new Expr.Repeat(jsonEscaped(item), min, max);
            case Expr.Ref r -> r;
        };
    }

    /** How Jackson (and most serialisers) write a code point inside a JSON string. */
    private static String escapeCodePoint(int cp) {
        return switch (cp) {
            case '"' -> "\\\"";
            case '\\' -> "\\\\";
            case '\n' -> "\\n";
            case '\t' -> "\\t";
            case '\r' -> "\\r";
            case '\b' -> "\\b";
            case '\f' -> "\\f";
            default -> cp < 0x20 ? String.format("\\u%04X", cp) : new String(Character.toChars(cp));
        };
    }

    private static boolean contains(int[] ranges, int cp) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (cp >= ranges[i] && cp <= ranges[i + 1]) {
                return true;
            }
        }
        return false;
    }

    private static int[] intersect(int[] a, int[] b) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < a.length; i += 2) {
            for (int j = 0; j < b.length; j += 2) {
                int lo = Math.max(a[i], b[j]);
                int hi = Math.min(a[i + 1], b[j + 1]);
                if (lo <= hi) {
                    out.add(lo);
                    out.add(hi);
                }
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Grammars of the common string formats, each a subset of the valid strings (e.g. day-of-month up to 28). */
    private static Expr format(String f) {
        String date = "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])";
        String time = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])";
        String regex = switch (f) {
            case "date" -> date;
            case "time" -> time;
            case "date-time" -> date + "T" + time;
            case "uuid" -> "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
            // a conservative subset: validators check local-part length and known top-level domains
            case "email" -> "[a-z0-9]{1,20}(\\.[a-z0-9]{1,20}){0,2}@[a-z0-9]{1,20}(\\.[a-z0-9]{1,20})?\\.(com|org|net|edu|io|dev)";
            case "uri" -> "[a-zA-Z][a-zA-Z0-9+.-]*:[a-zA-Z0-9._~:/?#@!$&'()*+,;=%-]+";
            case "ipv4" -> "((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
            case "hostname" -> "[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*";
            default -> null;
        };
        return regex == null ? null : RegexParser.parse(regex);
    }

    // ---- numbers --------------------------------------------------------------------------------------------

    private Expr number(ObjectNode o, String ptr, boolean integer) {
        if (o.has("multipleOf")) {
            BigDecimal m = o.get("multipleOf").decimalValue();
            if (!(integer && m.compareTo(BigDecimal.ONE) == 0)) {
                drop(ptr + "/multipleOf", "multipleOf");
            }
        }
        Bound lo = bound(o, "minimum", "exclusiveMinimum", ptr, true);
        Bound hi = bound(o, "maximum", "exclusiveMaximum", ptr, false);
        // OpenAPI's int32 and int64 (which Java schema generators write for int and long) bound the value, so that
        // the answer fits the field it is read into
        BigInteger[] width = integer && o.has("format") ? switch (o.get("format").asText()) {
            case "int32" -> new BigInteger[]{BigInteger.valueOf(Integer.MIN_VALUE), BigInteger.valueOf(Integer.MAX_VALUE)};
            case "int64" -> new BigInteger[]{BigInteger.valueOf(Long.MIN_VALUE), BigInteger.valueOf(Long.MAX_VALUE)};
            default -> null;
        } : null;
        if (lo == null && hi == null && width == null) {
            return ref(integer ? "integer" : "number");
        }
        BigDecimal loV = lo == null ? null : lo.value;
        BigDecimal hiV = hi == null ? null : hi.value;
        if (integer) {
            BigInteger l = width == null ? null : width[0];
            BigInteger h = width == null ? null : width[1];
            if (loV != null) {
                BigDecimal c = loV.setScale(0, java.math.RoundingMode.CEILING);
                BigInteger b = c.toBigInteger();
                if (lo.exclusive && c.compareTo(loV) == 0) {
                    b = b.add(BigInteger.ONE);
                }
                l = l == null ? b : l.max(b);
            }
            if (hiV != null) {
                BigDecimal f = hiV.setScale(0, java.math.RoundingMode.FLOOR);
                BigInteger b = f.toBigInteger();
                if (hi.exclusive && f.compareTo(hiV) == 0) {
                    b = b.subtract(BigInteger.ONE);
                }
                h = h == null ? b : h.min(b);
            }
            return NumberRanges.integers(l, h);
        }
        boolean integral = (loV == null || loV.stripTrailingZeros().scale() <= 0) && (hiV == null || hiV.stripTrailingZeros().scale() <= 0);
        if (!integral) {
            drop(ptr + (lo != null ? "/" + lo.keyword : "/" + hi.keyword), "non-integer numeric bound");
            return ref("number");
        }
        return NumberRanges.decimals(loV == null ? null : loV.toBigIntegerExact(), lo != null && lo.exclusive,
                hiV == null ? null : hiV.toBigIntegerExact(), hi != null && hi.exclusive);
    }

    private record Bound(BigDecimal value, boolean exclusive, String keyword) {}

    private Bound bound(ObjectNode o, String inclusiveKey, String exclusiveKey, String ptr, boolean lower) {
        Bound b = null;
        JsonNode inc = o.get(inclusiveKey);
        JsonNode exc = o.get(exclusiveKey);
        if (inc != null && inc.isNumber()) {
            b = new Bound(inc.decimalValue(), false, inclusiveKey);
        }
        if (exc != null) {
            if (exc.isBoolean()) {
                // draft 4 style: exclusiveMinimum: true modifies minimum
                if (exc.booleanValue() && b != null) {
                    b = new Bound(b.value, true, inclusiveKey);
                }
            } else if (exc.isNumber()) {
                BigDecimal v = exc.decimalValue();
                if (b == null || (lower ? v.compareTo(b.value) >= 0 : v.compareTo(b.value) <= 0)) {
                    b = new Bound(v, true, exclusiveKey);
                }
            }
        }
        return b;
    }

    // ---- objects --------------------------------------------------------------------------------------------

    private Expr object(ObjectNode o, String ptr) {
        if (o.has("patternProperties")) {
            drop(ptr + "/patternProperties", "patternProperties");
        }
        if (o.has("minProperties") || o.has("maxProperties")) {
            int req = o.has("required") ? o.get("required").size() : 0;
            int minP = o.path("minProperties").asInt(0);
            boolean maxOk = !o.has("maxProperties") || (o.has("additionalProperties") && o.get("additionalProperties").isBoolean()
                    && !o.get("additionalProperties").booleanValue() && o.path("properties").size() <= o.get("maxProperties").asInt());
            if (minP > req || !maxOk) {
                drop(ptr + (minP > req ? "/minProperties" : "/maxProperties"), "minProperties/maxProperties");
            }
        }
        JsonNode props = o.path("properties");
        Set<String> required = new LinkedHashSet<>();
        o.path("required").forEach(r -> required.add(r.asText()));
        List<Expr> items = new ArrayList<>();
        List<Boolean> optional = new ArrayList<>();
        Set<String> declared = new LinkedHashSet<>();
        for (String name : iter(props.fieldNames())) {
            declared.add(name);
            Expr value = schema(props.get(name), ptr + "/properties/" + escape(name));
            items.add(Expr.seq(literalKey(name), lit(":"), value));
            optional.add(!required.contains(name));
        }
        for (String r : required) {
            if (!declared.contains(r)) {
                // a required property without a schema: any value
                items.add(Expr.seq(literalKey(r), lit(":"), additionalValue(o, ptr)));
                optional.add(false);
                declared.add(r);
            }
        }
        JsonNode add = o.get("additionalProperties");
        Expr extra = null;
        if (add == null || !(add.isBoolean() && !add.booleanValue())) {
            Expr v = additionalValue(o, ptr);
            extra = Expr.seq(declared.isEmpty() ? ref("string") : otherKey(declared), lit(":"), v);
        }
        // kv_i optional or required; commas between present ones. rest(i) = ("," kv_i)? rest(i+1)
        int n = items.size();
        Expr tail = extra == null ? Expr.empty() : star(Expr.seq(lit(","), extra));
        Expr[] rest = new Expr[n + 1];
        rest[n] = tail;
        for (int i = n - 1; i >= 0; i--) {
            Expr withComma = Expr.seq(lit(","), items.get(i));
            rest[i] = Expr.seq(optional.get(i) ? opt(withComma) : withComma, rest[i + 1]);
            if (i < n - 1 || extra != null) {
                String rn = "obj" + (++counter);
                rules.put(rn, rest[i]);
                rest[i] = ref(rn);
            }
        }
        // the first present item: kv_j followed by rest(j+1), where every item before j is optional
        List<Expr> firsts = new ArrayList<>();
        boolean allOptional = true;
        for (int j = 0; j < n; j++) {
            firsts.add(Expr.seq(items.get(j), rest[j + 1]));
            if (!optional.get(j)) {
                allOptional = false;
                break;
            }
        }
        if (allOptional) {
            if (extra != null) {
                firsts.add(Expr.seq(extra, tail));
            }
            firsts.add(Expr.empty());
        }
        Expr body = firsts.size() == 1 ? firsts.getFirst() : new Expr.Alt(firsts);
        return Expr.seq(lit("{"), body, lit("}"));
    }

    /**
     * A JSON string key that is none of {@code names}: the complement of the names' trie over canonical JSON
     * string units (a raw character, or the escape Jackson writes). Non-canonical escapes such as {@code \u0061}
     * are not generated here, so no key can spell a declared name in disguise.
     */
    private Expr otherKey(Set<String> names) {
        Trie root = new Trie();
        for (String n : names) {
            Trie t = root;
            for (String u : units(n)) {
                t = t.children.computeIfAbsent(u, k -> new Trie());
            }
            t.terminal = true;
        }
        String free = "keyfree" + (++counter);
        rules.put(free, Expr.seq(star(unitExcept(Set.of())), lit("\"")));
        return Expr.seq(lit("\""), trieComplement(root, free));
    }

    private static final class Trie {
        final Map<String, Trie> children = new LinkedHashMap<>();
        boolean terminal;
    }

    private Expr trieComplement(Trie t, String free) {
        List<Expr> alts = new ArrayList<>();
        if (!t.terminal) {
            alts.add(lit("\""));
        }
        alts.add(Expr.seq(unitExcept(t.children.keySet()), ref(free)));
        for (var e : t.children.entrySet()) {
            alts.add(Expr.seq(lit(e.getKey()), trieComplement(e.getValue(), free)));
        }
        return new Expr.Alt(alts);
    }

    /** The canonical units (raw characters or escapes) of a string's JSON encoding. */
    private static List<String> units(String s) {
        List<String> out = new ArrayList<>();
        s.codePoints().forEach(cp -> out.add(escapeCodePoint(cp)));
        return out;
    }

    /** One canonical string unit other than those in {@code except}. */
    private static Expr unitExcept(Set<String> except) {
        List<Integer> ranges = new ArrayList<>(List.of((int) '"', (int) '"', (int) '\\', (int) '\\', 0, 0x1F));
        for (String u : except) {
            if (!u.startsWith("\\")) {
                int cp = u.codePointAt(0);
                ranges.add(cp);
                ranges.add(cp);
            }
        }
        List<Expr> alts = new ArrayList<>();
        alts.add(new Expr.CharClass(ranges.stream().mapToInt(Integer::intValue).toArray(), true, false));
        for (int cp : new int[] {'"', '\\'}) {
            if (!except.contains(escapeCodePoint(cp))) {
                alts.add(lit(escapeCodePoint(cp)));
            }
        }
        for (int cp = 0; cp < 0x20; cp++) {
            if (!except.contains(escapeCodePoint(cp))) {
                alts.add(lit(escapeCodePoint(cp)));
            }
        }
        return new Expr.Alt(alts);
    }

    private Expr additionalValue(ObjectNode o, String ptr) {
        JsonNode add = o.get("additionalProperties");
        if (add == null || add.isBoolean()) {
            return ref("value");
        }
        return schema(add, ptr + "/additionalProperties");
    }

    private static Expr literalKey(String name) {
        try {
            return lit(MAPPER.writeValueAsString(name));
        } catch (JsonProcessingException e) {
            throw new MetagenException("cannot serialise property name " + name);
        }
    }

    // ---- arrays ---------------------------------------------------------------------------------------------

    private Expr array(ObjectNode o, String ptr) {
        if (o.has("uniqueItems") && o.get("uniqueItems").asBoolean()) {
            drop(ptr + "/uniqueItems", "uniqueItems");
        }
        List<Expr> prefix = new ArrayList<>();
        JsonNode prefixNode = o.get("prefixItems");
        String prefixKey = "prefixItems";
        JsonNode itemsNode = o.get("items");
        String itemsKey = "items";
        if (prefixNode == null && itemsNode != null && itemsNode.isArray()) {
            // draft 7 tuple form: items is the prefix, additionalItems the rest
            prefixNode = itemsNode;
            prefixKey = "items";
            itemsNode = o.get("additionalItems");
            itemsKey = "additionalItems";
        }
        if (prefixNode != null) {
            for (int k = 0; k < prefixNode.size(); k++) {
                prefix.add(schema(prefixNode.get(k), ptr + "/" + prefixKey + "/" + k));
            }
        }
        Expr item;
        boolean noMore = false;
        if (itemsNode == null || (itemsNode.isBoolean() && itemsNode.booleanValue())) {
            item = ref("value");
        } else if (itemsNode.isBoolean()) {
            item = null;
            noMore = true;
        } else {
            item = schema(itemsNode, ptr + "/" + itemsKey);
        }
        int min = o.path("minItems").asInt(0);
        int max = o.has("maxItems") ? o.get("maxItems").asInt() : -1;
        int k = prefix.size();
        if (noMore) {
            max = max < 0 ? k : Math.min(max, k);
        }
        if (max >= 0 && max < min) {
            return NOTHING;
        }
        if (min > 10_000 || max > 10_000) {
            drop(ptr + "/maxItems", "array length bounds above 10000");
            max = -1;
            min = Math.min(min, 10_000);
        }
        // rest after the prefix: r_min..r_max more items
        int rMin = Math.max(0, min - k);
        int rMax = max < 0 ? -1 : Math.max(0, max - k);
        Expr restFirst;   // when the prefix is empty the first rest item has no comma
        Expr restAfter;
        if (rMax == 0 || item == null) {
            restFirst = Expr.empty();
            restAfter = Expr.empty();
            if (rMin > 0) {
                return NOTHING;
            }
        } else {
            Expr more = Expr.seq(lit(","), item);
            restAfter = new Expr.Repeat(more, rMin, rMax);
            Expr firstThenMore = Expr.seq(item, new Expr.Repeat(more, Math.max(0, rMin - 1), rMax < 0 ? -1 : rMax - 1));
            restFirst = rMin > 0 ? firstThenMore : opt(firstThenMore);
        }
        // prefix items: T_i = [ε if i >= min] | sep_i p_i T_{i+1}
        Expr t = k == 0 ? restFirst : restAfter;
        for (int i = k - 1; i >= 0; i--) {
            if (max >= 0 && i >= max) {
                continue;
            }
            Expr step = Expr.seq(i > 0 ? lit(",") : Expr.empty(), prefix.get(i), t);
            t = i >= min ? Expr.alt(Expr.empty(), step) : step;
        }
        return Expr.seq(lit("["), t, lit("]"));
    }
}
