/* SPDX-License-Identifier: MIT */
/* Tests: certificates and keys made at test time with GnuTLS. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tls_certs.h"

typedef struct cert {
    gnutls_x509_crt_t crt;
    gnutls_x509_privkey_t key;
} cert;

static int write_datum(const char *dir, const char *name, const gnutls_datum_t *d)
{
    char path[512];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f == NULL)
        return GNUTLS_E_FILE_ERROR;
    n = fwrite(d->data, 1, d->size, f);
    if (fclose(f) != 0 || n != d->size)
        return GNUTLS_E_FILE_ERROR;
    return 0;
}

static int save(const char *dir, const char *base, const cert *c, int with_key)
{
    gnutls_datum_t d = { NULL, 0 };
    char name[128];
    int rc;

    rc = gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_PEM, &d);
    if (rc < 0)
        return rc;
    snprintf(name, sizeof(name), "%s.pem", base);
    rc = write_datum(dir, name, &d);
    gnutls_free(d.data);
    if (rc < 0 || !with_key)
        return rc;
    rc = gnutls_x509_privkey_export2(c->key, GNUTLS_X509_FMT_PEM, &d);
    if (rc < 0)
        return rc;
    snprintf(name, sizeof(name), "%s.key", base);
    rc = write_datum(dir, name, &d);
    gnutls_free(d.data);
    return rc;
}

/* issuer NULL: self-signed CA.  server: SANs and the server purpose. */
static int make(cert *c, const char *dn, const cert *issuer, int server, time_t from,
                time_t until, unsigned serial)
{
    unsigned char sn[4] = { (unsigned char)(serial >> 24), (unsigned char)(serial >> 16),
                            (unsigned char)(serial >> 8), (unsigned char)serial };
    int rc;

    if ((rc = gnutls_x509_privkey_init(&c->key)) < 0 ||
        (rc = gnutls_x509_privkey_generate(c->key, GNUTLS_PK_ECDSA,
                                           GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
                                           0)) < 0 ||
        (rc = gnutls_x509_crt_init(&c->crt)) < 0 ||
        (rc = gnutls_x509_crt_set_version(c->crt, 3)) < 0 ||
        (rc = gnutls_x509_crt_set_serial(c->crt, sn, sizeof(sn))) < 0 ||
        (rc = gnutls_x509_crt_set_activation_time(c->crt, from)) < 0 ||
        (rc = gnutls_x509_crt_set_expiration_time(c->crt, until)) < 0 ||
        (rc = gnutls_x509_crt_set_dn(c->crt, dn, NULL)) < 0 ||
        (rc = gnutls_x509_crt_set_key(c->crt, c->key)) < 0)
        return rc;
    if (issuer == NULL) {
        if ((rc = gnutls_x509_crt_set_basic_constraints(c->crt, 1, -1)) < 0 ||
            (rc = gnutls_x509_crt_set_key_usage(c->crt, GNUTLS_KEY_KEY_CERT_SIGN |
                                                            GNUTLS_KEY_CRL_SIGN)) < 0)
            return rc;
    } else {
        if ((rc = gnutls_x509_crt_set_basic_constraints(c->crt, 0, -1)) < 0 ||
            (rc = gnutls_x509_crt_set_key_usage(c->crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
            (rc = gnutls_x509_crt_set_key_purpose_oid(c->crt, server ? GNUTLS_KP_TLS_WWW_SERVER
                                                                     : GNUTLS_KP_TLS_WWW_CLIENT,
                                                      0)) < 0)
            return rc;
    }
    if (server) {
        static const unsigned char lo[4] = { 127, 0, 0, 1 };

        if ((rc = gnutls_x509_crt_set_subject_alt_name(c->crt, GNUTLS_SAN_DNSNAME, "localhost",
                                                       9, GNUTLS_FSAN_APPEND)) < 0 ||
            (rc = gnutls_x509_crt_set_subject_alt_name(c->crt, GNUTLS_SAN_IPADDRESS, lo, 4,
                                                       GNUTLS_FSAN_APPEND)) < 0)
            return rc;
    }
    {
        unsigned char id[64];
        size_t n = sizeof(id);

        if ((rc = gnutls_x509_crt_get_key_id(c->crt, 0, id, &n)) < 0 ||
            (rc = gnutls_x509_crt_set_subject_key_id(c->crt, id, n)) < 0)
            return rc;
    }
    if (issuer == NULL)
        return gnutls_x509_crt_sign2(c->crt, c->crt, c->key, GNUTLS_DIG_SHA256, 0);
    {
        unsigned char id[64];
        size_t n = sizeof(id);

        if ((rc = gnutls_x509_crt_get_subject_key_id(issuer->crt, id, &n, NULL)) < 0 ||
            (rc = gnutls_x509_crt_set_authority_key_id(c->crt, id, n)) < 0)
            return rc;
    }
    return gnutls_x509_crt_sign2(c->crt, issuer->crt, issuer->key, GNUTLS_DIG_SHA256, 0);
}

static void drop(cert *c)
{
    if (c->crt != NULL)
        gnutls_x509_crt_deinit(c->crt);
    if (c->key != NULL)
        gnutls_x509_privkey_deinit(c->key);
}

int tls_certs_make(const char *dir)
{
    cert ca = { 0 }, other_ca = { 0 }, server = { 0 }, client1 = { 0 }, client2 = { 0 },
         other = { 0 }, expired = { 0 };
    time_t now = time(NULL);
    time_t from = now - 3600, until = now + 86400;
    int rc;

    if ((rc = make(&ca, "CN=Parley test CA", NULL, 0, from, until, 1)) < 0 ||
        (rc = make(&other_ca, "CN=Parley other CA", NULL, 0, from, until, 2)) < 0 ||
        (rc = make(&server, "CN=localhost,O=Parley test", &ca, 1, from, until, 3)) < 0 ||
        (rc = make(&client1, "CN=client1,O=Parley test", &ca, 0, from, until, 4)) < 0 ||
        (rc = make(&client2, "CN=client2,O=Parley test", &ca, 0, from, until, 5)) < 0 ||
        (rc = make(&other, "CN=client1,O=Parley test", &other_ca, 0, from, until, 6)) < 0 ||
        (rc = make(&expired, "CN=localhost,O=Parley expired", &ca, 1, now - 2 * 86400,
                   now - 86400, 7)) < 0)
        goto done;
    if ((rc = save(dir, "ca", &ca, 0)) < 0 || (rc = save(dir, "other-ca", &other_ca, 0)) < 0 ||
        (rc = save(dir, "server", &server, 1)) < 0 ||
        (rc = save(dir, "client1", &client1, 1)) < 0 ||
        (rc = save(dir, "client2", &client2, 1)) < 0 ||
        (rc = save(dir, "other", &other, 1)) < 0 ||
        (rc = save(dir, "expired", &expired, 1)) < 0)
        goto done;
done:
    drop(&ca);
    drop(&other_ca);
    drop(&server);
    drop(&client1);
    drop(&client2);
    drop(&other);
    drop(&expired);
    return rc;
}
