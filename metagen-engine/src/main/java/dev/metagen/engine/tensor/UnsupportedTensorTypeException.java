package dev.metagen.engine.tensor;

import dev.metagen.core.MetagenException;

/** A tensor whose ggml type metagen cannot compute with; the message names the tensor and the type. */
public final class UnsupportedTensorTypeException extends MetagenException {
    public UnsupportedTensorTypeException(String tensor, String type) {
        super("tensor " + tensor + " has type " + type + ", which metagen does not support (supported: "
                + TypeKernels.supportedNames() + ")");
    }
}
