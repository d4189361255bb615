/* SPDX-License-Identifier: MIT */
/**
 * @file parley/protocol.h
 * @brief Protocols: a named, versioned table of methods.
 *
 * `parley-idl` emits one ::parley_protocol per IDL file (`kv_protocol`).  Both
 * ends of a connection speak one protocol; the handshake compares the
 * protocol name and the fingerprint of every method, and methods whose
 * fingerprints match keep working across protocol versions.
 */
#ifndef PARLEY_PROTOCOL_H
#define PARLEY_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "parley/status.h"
#include "parley/type.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Method flag: no reply is sent or awaited. */
#define PARLEY_METHOD_ONEWAY 0x1u

/** Method id 0 is the built-in introspection call; IDL ids start at 1. */
#define PARLEY_METHOD_INTROSPECT 0u

/** The built-in monitor method (doc/wire.md); no protocol may use this id. */
#define PARLEY_METHOD_MONITOR 0xffffffffu

/** One method of a protocol. */
typedef struct parley_method {
    uint32_t id;                 /**< unique in the protocol, never reused, >= 1 */
    const char *name;            /**< method name, e.g. "get" */
    const char *interface;       /**< the interface that declares it, e.g. "kv" */
    const parley_type *request;  /**< STRUCT descriptor of the request (never NULL) */
    const parley_type *reply;    /**< STRUCT descriptor of the reply; NULL if oneway */
    uint64_t fingerprint;        /**< parley_method_fingerprint() of request/reply */
    unsigned flags;              /**< PARLEY_METHOD_* */
} parley_method;

/**
 * The layout version of the descriptor structs (::parley_protocol,
 * ::parley_method, ::parley_type, ::parley_field, ::parley_arm,
 * ::parley_enum_value) this header declares.  Code that initialises a
 * ::parley_protocol (what `parley-idl` emits, or a hand-written table) sets
 * parley_protocol::abi_version to it, so that a later libparley, whose
 * structs may have grown, still reads the tables a program was compiled with
 * (doc/abi.md).  It changes only when one of those structs changes.
 */
#define PARLEY_ABI_VERSION 2u

/** A protocol: what one IDL file declares. */
typedef struct parley_protocol {
    /** PARLEY_ABI_VERSION of the header the table was compiled with; first,
     *  so that every libparley can read it.  0 (not set) is refused. */
    uint32_t abi_version;
    const char *name;                    /**< protocol name, e.g. "kv" */
    uint32_t version;                    /**< protocol version */
    const parley_method *methods;        /**< every method of every interface, by id */
    size_t n_methods;                    /**< number of entries in methods */
    const char *const *interfaces;       /**< interface names, in declaration order */
    size_t n_interfaces;                 /**< number of entries in interfaces */
    const parley_type *const *types;     /**< every named type, for introspection */
    size_t n_types;                      /**< number of entries in types */
    /* abi_version 2 and later: */
    /** The type of the value the client sends in its HELLO (IDL `hello
     *  client T;`), or NULL.  Read only when abi_version >= 2. */
    const parley_type *hello_client;
    /** The type of the value the server sends in its HELLO (IDL `hello
     *  server T;`), or NULL.  Read only when abi_version >= 2. */
    const parley_type *hello_server;
} parley_protocol;

/**
 * @brief Find a method by id.
 * @param[in] protocol the protocol
 * @param[in] id the method id
 * @return the method, or NULL if the protocol has none with that id (or
 *         protocol is NULL).
 *
 * Ownership: points into the protocol's const data.  Errors: none.
 */
PARLEY_PUBLIC const parley_method *parley_protocol_find_method(const parley_protocol *protocol,
                                                               uint32_t id);

/**
 * @brief The fingerprint of a method: request and reply wire shapes.
 *
 * Defined in doc/idl.md ("Fingerprints"); `parley-idl` writes the same value
 * into parley_method::fingerprint.  Names (method, fields, types) do not count.
 *
 * @param[in] request STRUCT descriptor of the request
 * @param[in] reply STRUCT descriptor of the reply, NULL for a oneway method
 * @return the fingerprint.
 *
 * Ownership: nothing allocated.  Errors: none.
 */
PARLEY_PUBLIC uint64_t parley_method_fingerprint(const parley_type *request,
                                                 const parley_type *reply);

/**
 * @brief Validate a protocol table.
 *
 * Checks the descriptor ABI version (parley_protocol::abi_version between 1
 * and this library's PARLEY_ABI_VERSION), the name, ids (non-zero, unique), that every request and reply
 * passes parley_type_check(), that oneway methods have no reply, and that each
 * stored fingerprint equals parley_method_fingerprint().
 *
 * @param[in] protocol the protocol
 * @return PARLEY_OK or INVALID_ARGUMENT with the first problem named.
 *
 * Ownership: nothing allocated.
 * Errors: the statuses under @return, each with a sentence in
 * parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_protocol_check(const parley_protocol *protocol);

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_PROTOCOL_H */
