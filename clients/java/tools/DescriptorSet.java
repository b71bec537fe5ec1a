import com.google.protobuf.DescriptorProtos;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Writes {@code google/protobuf/descriptor.proto}, as compiled into the protobuf-java jar on the class
 * path, as a FileDescriptorSet, for {@code protoc --descriptor_set_in} when no include folder has the
 * well-known protos. Used by {@code scripts/bindings/java.py}; not part of the client.
 */
public final class DescriptorSet {
    private DescriptorSet() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: DescriptorSet OUTPUT.pb");
            System.exit(2);
        }
        try (OutputStream out = new FileOutputStream(args[0])) {
            DescriptorProtos.FileDescriptorSet.newBuilder()
                    .addFile(DescriptorProtos.getDescriptor().toProto())
                    .build()
                    .writeTo(out);
        }
    }
}
