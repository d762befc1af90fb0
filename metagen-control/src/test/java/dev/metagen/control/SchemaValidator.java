package dev.metagen.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.util.Set;

/** The independent validator of the tests: com.networknt json-schema-validator, with format assertions on. */
final class SchemaValidator {
    private final JsonSchema schema;

    SchemaValidator(JsonNode schemaNode) {
        String declared = schemaNode.path("$schema").asText("");
        SpecVersion.VersionFlag v = declared.contains("draft-07") || declared.contains("draft-06") || declared.contains("draft-04")
                ? SpecVersion.VersionFlag.V7 : SpecVersion.VersionFlag.V202012;
        SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
        this.schema = JsonSchemaFactory.getInstance(v).getSchema(schemaNode, config);
    }

    /** The validation errors of {@code json} (text), or a parse error. */
    Set<ValidationMessage> errors(JsonNode instance) {
        return schema.validate(instance);
    }
}
