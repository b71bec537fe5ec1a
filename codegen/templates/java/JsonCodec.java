package org.mlflowclient.runtime;

import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Protobuf messages to and from MLflow's JSON: proto field names ({@code experiment_id}) on the wire,
 * unset fields omitted, unknown fields of newer servers ignored.
 */
public final class JsonCodec {
    private static final JsonFormat.Printer PRINTER =
            JsonFormat.printer().preservingProtoFieldNames().omittingInsignificantWhitespace();
    private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

    private JsonCodec() {}

    /** The message as compact JSON with proto field names. */
    public static String toJson(Message message) {
        try {
            return PRINTER.print(message);
        } catch (InvalidProtocolBufferException e) {
            throw new MlflowException("cannot encode " + message.getDescriptorForType().getFullName() + " as JSON: "
                    + e.getMessage(), "INVALID_PARAMETER_VALUE", null);
        }
    }

    /** Merges JSON into {@code builder}; empty input leaves it as it is. */
    public static void merge(byte[] json, Message.Builder builder) {
        String text = new String(json, StandardCharsets.UTF_8);
        if (text.isBlank()) {
            return;
        }
        try {
            PARSER.merge(text, builder);
        } catch (InvalidProtocolBufferException e) {
            throw new MlflowException("cannot decode the server's answer as "
                    + builder.getDescriptorForType().getFullName() + ": " + e.getMessage(), "INTERNAL_ERROR", null);
        }
    }

    /** The set fields of a request as query parameters; a repeated field becomes repeated keys. */
    public static List<Map.Entry<String, String>> queryParams(Message message) {
        List<Map.Entry<String, String>> out = new ArrayList<>();
        for (Map.Entry<FieldDescriptor, Object> entry : message.getAllFields().entrySet()) {
            FieldDescriptor field = entry.getKey();
            if (field.isRepeated()) {
                for (Object item : (List<?>) entry.getValue()) {
                    out.add(new AbstractMap.SimpleImmutableEntry<>(field.getName(), scalar(item)));
                }
            } else {
                out.add(new AbstractMap.SimpleImmutableEntry<>(field.getName(), scalar(entry.getValue())));
            }
        }
        return out;
    }

    private static String scalar(Object value) {
        if (value instanceof EnumValueDescriptor) {
            return ((EnumValueDescriptor) value).getName();
        }
        if (value instanceof Message) {
            return toJson((Message) value);
        }
        if (value instanceof com.google.protobuf.ByteString) {
            return java.util.Base64.getEncoder().encodeToString(((com.google.protobuf.ByteString) value).toByteArray());
        }
        return String.valueOf(value); // numbers (NaN, Infinity as such), booleans as true/false, strings
    }
}
