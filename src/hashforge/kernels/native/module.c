/*
 * hashforge.kernels._native: the Python face of the C kernels.
 *
 * Deliberately thin: it checks and copies the arguments, releases the GIL for the
 * whole scan, and builds the result list afterwards. Validation with friendly errors
 * lives in hashforge/kernels/__init__.py; the checks here only keep C memory-safe.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

#include "hf_kernels.h"

typedef struct {
    const char *algo;
    const char *name;
    scan_fn scan;
    unsigned needs; /* HF_CPU_* bits that must all be present */
    int lanes;      /* hashes per step; rolled scans want a multiple of this many versions */
} backend_entry;

static const backend_entry BACKENDS[] = {
    {"sha256d", "scalar", hf_sha256d_scan_scalar, 0, 1},
#if HF_X86
    {"sha256d", "sse2", hf_sha256d_scan_sse2, HF_CPU_SSE2, 4},
    {"sha256d", "avx2", hf_sha256d_scan_avx2, HF_CPU_AVX2, 8},
    {"sha256d", "avx512", hf_sha256d_scan_avx512, HF_CPU_AVX512F, 16},
    {"sha256d", "shani", hf_sha256d_scan_shani, HF_CPU_SHA | HF_CPU_SSE41, 2},
#endif
    {"scrypt", "scalar", hf_scrypt_scan_scalar, 0, 1},
#if HF_X86
    {"scrypt", "sse2", hf_scrypt_scan_sse2, HF_CPU_SSE2, 4},
    {"scrypt", "avx2", hf_scrypt_scan_avx2, HF_CPU_AVX2, 8},
    {"scrypt", "avx512", hf_scrypt_scan_avx512, HF_CPU_AVX512F, 16},
#endif
};
#define NBACKENDS (sizeof BACKENDS / sizeof BACKENDS[0])

static unsigned cpu_flags;

static const struct {
    unsigned bit;
    const char *name;
} FEATURE_NAMES[] = {
    {HF_CPU_SSE2, "sse2"},         {HF_CPU_SSSE3, "ssse3"},       {HF_CPU_SSE41, "sse4_1"},
    {HF_CPU_AVX, "avx"},           {HF_CPU_AVX2, "avx2"},         {HF_CPU_AVX512F, "avx512f"},
    {HF_CPU_AVX512VL, "avx512vl"}, {HF_CPU_AVX512BW, "avx512bw"}, {HF_CPU_SHA, "sha_ni"},
};

static PyObject *py_cpu_features(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    PyObject *out = PyList_New(0);
    if (!out)
        return NULL;
    for (size_t i = 0; i < sizeof FEATURE_NAMES / sizeof FEATURE_NAMES[0]; i++) {
        if (!(cpu_flags & FEATURE_NAMES[i].bit))
            continue;
        PyObject *s = PyUnicode_FromString(FEATURE_NAMES[i].name);
        if (!s || PyList_Append(out, s) < 0) {
            Py_XDECREF(s);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(s);
    }
    return out;
}

/* [(algo, name, lanes), ...] for the kernels this CPU can run. */
static PyObject *py_backends(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    PyObject *out = PyList_New(0);
    if (!out)
        return NULL;
    for (size_t i = 0; i < NBACKENDS; i++) {
        if ((cpu_flags & BACKENDS[i].needs) != BACKENDS[i].needs)
            continue;
        PyObject *t = Py_BuildValue("(ssi)", BACKENDS[i].algo, BACKENDS[i].name, BACKENDS[i].lanes);
        if (!t || PyList_Append(out, t) < 0) {
            Py_XDECREF(t);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(t);
    }
    return out;
}

static const backend_entry *find_backend(const char *algo, const char *name)
{
    for (size_t i = 0; i < NBACKENDS; i++)
        if (!strcmp(BACKENDS[i].algo, algo) && !strcmp(BACKENDS[i].name, name))
            return &BACKENDS[i];
    return NULL;
}

static uint32_t *parse_versions(PyObject *seq_in, size_t *count)
{
    PyObject *seq = PySequence_Fast(seq_in, "versions must be a sequence of integers");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "versions must not be empty");
        Py_DECREF(seq);
        return NULL;
    }
    uint32_t *out = PyMem_Malloc((size_t)n * sizeof *out);
    if (!out) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned long long v = PyLong_AsUnsignedLongLong(PySequence_Fast_GET_ITEM(seq, i));
        if (PyErr_Occurred() || v > 0xffffffffULL) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "version out of range for 32 bits");
            PyMem_Free(out);
            Py_DECREF(seq);
            return NULL;
        }
        out[i] = (uint32_t)v;
    }
    Py_DECREF(seq);
    *count = (size_t)n;
    return out;
}

/* scan(algo, backend, header80, versions, target_le32, start, end) -> ([(version, nonce)], hashes) */
static PyObject *py_scan(PyObject *self, PyObject *args)
{
    (void)self;
    const char *algo, *name;
    Py_buffer header, target;
    PyObject *versions_obj;
    unsigned long long start, end;
    if (!PyArg_ParseTuple(args, "ssy*Oy*KK", &algo, &name, &header, &versions_obj, &target, &start, &end))
        return NULL;
    PyObject *result = NULL;
    uint32_t *versions = NULL;
    hf_hits hits = {0};
    hf_scan_args sa;
    const backend_entry *be = find_backend(algo, name);
    if (!be) {
        PyErr_Format(PyExc_ValueError, "no native %s backend named %s", algo, name);
        goto done;
    }
    if ((cpu_flags & be->needs) != be->needs) {
        PyErr_Format(PyExc_RuntimeError, "this CPU cannot run the %s backend", name);
        goto done;
    }
    if (header.len != HF_HEADER_BYTES || target.len != 32) {
        PyErr_SetString(PyExc_ValueError, "header must be 80 bytes and target 32 bytes");
        goto done;
    }
    if (start > end || end > 0x100000000ULL) {
        PyErr_SetString(PyExc_ValueError, "need 0 <= start <= end <= 2**32");
        goto done;
    }
    versions = parse_versions(versions_obj, &sa.nversions);
    if (!versions)
        goto done;
    memcpy(sa.header, header.buf, HF_HEADER_BYTES);
    for (int i = 0; i < 8; i++)
        sa.target[i] = hf_le32((const uint8_t *)target.buf + 4 * i);
    sa.versions = versions;
    sa.start = start;
    sa.end = end;

    int rc = 0;
    if (start < end) {
        Py_BEGIN_ALLOW_THREADS
        rc = be->scan(&sa, &hits);
        Py_END_ALLOW_THREADS
    }
    if (rc != 0 || hits.oom) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject *list = PyList_New((Py_ssize_t)hits.len);
    if (!list)
        goto done;
    for (size_t i = 0; i < hits.len; i++) {
        PyObject *t = Py_BuildValue("(kk)", (unsigned long)hits.items[i].version,
                                    (unsigned long)hits.items[i].nonce);
        if (!t) {
            Py_DECREF(list);
            goto done;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    result = Py_BuildValue("(NK)", list, (unsigned long long)((end - start) * sa.nversions));
done:
    free(hits.items);
    PyMem_Free(versions);
    PyBuffer_Release(&header);
    PyBuffer_Release(&target);
    return result;
}

/* hash(algo, header80) -> 32 bytes from the portable C code (for cross-checks). */
static PyObject *py_hash(PyObject *self, PyObject *args)
{
    (void)self;
    const char *algo;
    Py_buffer header;
    if (!PyArg_ParseTuple(args, "sy*", &algo, &header))
        return NULL;
    PyObject *result = NULL;
    uint8_t out[32];
    if (header.len != HF_HEADER_BYTES) {
        PyErr_SetString(PyExc_ValueError, "header must be 80 bytes");
    } else if (!strcmp(algo, "sha256d")) {
        const uint8_t *h = header.buf;
        hf_sha256d_header(h, hf_le32(h), hf_le32(h + 76), out);
        result = PyBytes_FromStringAndSize((const char *)out, 32);
    } else if (!strcmp(algo, "scrypt")) {
        uint32_t *scratch = malloc(HF_SCRYPT_N * 32 * sizeof(uint32_t));
        if (!scratch) {
            PyErr_NoMemory();
        } else {
            Py_BEGIN_ALLOW_THREADS
            hf_scrypt_header(header.buf, scratch, out);
            Py_END_ALLOW_THREADS
            free(scratch);
            result = PyBytes_FromStringAndSize((const char *)out, 32);
        }
    } else {
        PyErr_Format(PyExc_ValueError, "unknown algorithm %s", algo);
    }
    PyBuffer_Release(&header);
    return result;
}

static PyMethodDef methods[] = {
    {"cpu_features", py_cpu_features, METH_NOARGS, "CPU features the kernels care about."},
    {"backends", py_backends, METH_NOARGS, "[(algo, name, lanes)] runnable on this CPU."},
    {"scan", py_scan, METH_VARARGS, "scan(algo, backend, header, versions, target, start, end)."},
    {"hash", py_hash, METH_VARARGS, "hash(algo, header80): portable C hash bytes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_native", "hashforge native hashing kernels (see hashforge.kernels).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void)
{
    hf_init();
    cpu_flags = hf_cpu_features();
    return PyModule_Create(&moduledef);
}
