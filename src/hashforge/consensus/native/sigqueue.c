/*
 * hashforge.consensus._sigqueue: ECDSA verifications queued from Python and run on native
 * threads that never take the GIL. Use it through hashforge.consensus.sigqueue.
 *
 * Why: block connection is one Python thread (the GIL serializes any Python pool), and a third
 * of a P2WPKH spend's time is libsecp256k1. The chain thread does everything Python-side for an
 * input (encoding rules, sighash, lax DER parse, low-S normalization), `submit`s the 33/65-byte
 * key, the 64-byte compact r||s and the 32-byte message with a tag, and goes on to the next
 * input while a worker verifies. At the end of the block `collect` releases the GIL, verifies
 * queued jobs on the calling thread too until none is left, waits for the workers' last ones
 * and returns the tags that failed (ascending).
 *
 * libsecp256k1 is the copy coincurve bundles, called through function pointers the Python side
 * takes from coincurve's cffi module, with its static (verification-only, immutable, thread-safe)
 * context: nothing is linked here. Only the opaque struct sizes and three prototypes are declared.
 *
 * Memory is bounded: the ring holds `capacity` jobs (about 180 bytes each); a submit into a full
 * ring verifies one job itself, GIL released, instead of growing it. The failed tags of a batch
 * grow with the failures only (8 bytes each, at most one per submit).
 *
 * Threading and shutdown: one mutex (`mu`) guards the ring, the counters and the failed list;
 * workers hold it only to take a job or record a result, never while verifying, and never touch
 * Python objects, so they are safe while the interpreter runs, blocks or finalizes. Lock order:
 * the GIL, then mu; no thread waits for the GIL while holding mu. `close` stops and joins the
 * workers (each finishes at most the job in hand) but keeps queued jobs: a `collect` after it (or
 * racing it) verifies them on the caller, so an unverified job is never reported as valid.
 * `cancel` drops the queued jobs and the failures of an abandoned batch (a block rejected or
 * interrupted half-way). Memory and the mutex are freed only when the object is deallocated,
 * after its workers are joined. Batches are per queue: one thread submits and collects at a time
 * (the node's chain thread); the lock keeps concurrent use memory-safe, not meaningful.
 * Not fork-safe: a forked child has no workers (the node's processes are spawned).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* libsecp256k1's public types are opaque 64-byte structs (include/secp256k1.h). */
typedef struct {
    unsigned char data[64];
} secp_pubkey;
typedef struct {
    unsigned char data[64];
} secp_sig;
typedef int (*pubkey_parse_fn)(const void *ctx, secp_pubkey *pubkey, const unsigned char *input,
                               size_t inputlen);
typedef int (*sig_parse_compact_fn)(const void *ctx, secp_sig *sig, const unsigned char *input64);
typedef int (*verify_fn)(const void *ctx, const secp_sig *sig, const unsigned char *msghash32,
                         const secp_pubkey *pubkey);

#define MAX_PUBKEY 65
#define MAX_THREADS 64
/* A sleeping worker is woken once this many jobs wait, not for each: the submitter is the
 * critical path, and a wake-up per job (a futex call, often a context switch on a busy core)
 * cost it more than the verification it handed off. collect wakes them for whatever is left. */
#define WAKE_BATCH 16

typedef struct {
    long long tag;
    unsigned char pubkey_len;
    unsigned char pubkey[MAX_PUBKEY];
    unsigned char sig[64]; /* r || s, big-endian, s already normalized to low */
    unsigned char msg[32];
} job_t;

typedef struct {
    PyObject_HEAD
    pthread_mutex_t mu;
    pthread_cond_t has_work; /* workers wait here for jobs or stop */
    pthread_cond_t idle;     /* collectors wait here for running == 0 */
    job_t *ring;
    size_t cap, head, count; /* queued jobs: ring[head .. head + count) modulo cap */
    size_t running;          /* jobs taken (by a worker or a helper) and not yet recorded */
    int sleeping;            /* workers waiting on has_work: a submit signals only if any */
    long long *failed;
    size_t nfailed, failed_cap;
    int oom;      /* a failure could not be recorded: collect raises MemoryError */
    int stopping; /* close() was called: workers exit, submit refuses */
    int nthreads;
    pthread_t threads[MAX_THREADS];
    int sync_ready; /* mutex and conditions initialized (dealloc may see a half-built object) */
    const void *ctx;
    pubkey_parse_fn pubkey_parse;
    sig_parse_compact_fn sig_parse;
    verify_fn verify;
} SigQueue;

static int verify_job(const SigQueue *q, const job_t *j)
{
    secp_pubkey pk;
    secp_sig sig;
    if (!q->pubkey_parse(q->ctx, &pk, j->pubkey, j->pubkey_len))
        return 0;
    if (!q->sig_parse(q->ctx, &sig, j->sig))
        return 0;
    return q->verify(q->ctx, &sig, j->msg, &pk) == 1;
}

/* Caller holds mu and count > 0: moves the oldest job out and counts it as running. */
static void take_job(SigQueue *q, job_t *out)
{
    *out = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    q->running++;
}

/* Caller holds mu: the job taken by take_job is done. */
static void finish_job(SigQueue *q, const job_t *j, int ok)
{
    q->running--;
    if (!ok) {
        if (q->nfailed == q->failed_cap) {
            size_t cap = q->failed_cap ? 2 * q->failed_cap : 64;
            long long *grown = realloc(q->failed, cap * sizeof *grown);
            if (!grown) {
                q->oom = 1;
                goto out;
            }
            q->failed = grown;
            q->failed_cap = cap;
        }
        q->failed[q->nfailed++] = j->tag;
    }
out:
    if (q->count == 0 && q->running == 0)
        pthread_cond_broadcast(&q->idle);
}

/* Caller holds mu and count > 0: verifies one job with mu released around the verification. */
static void run_one(SigQueue *q)
{
    job_t j;
    take_job(q, &j);
    pthread_mutex_unlock(&q->mu);
    int ok = verify_job(q, &j);
    pthread_mutex_lock(&q->mu);
    finish_job(q, &j, ok);
}

static void *worker_main(void *arg)
{
    SigQueue *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->stopping && q->count == 0) {
            q->sleeping++;
            pthread_cond_wait(&q->has_work, &q->mu);
            q->sleeping--;
        }
        if (q->stopping)
            break;
        run_one(q);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

/* Signals the workers to stop and joins them; idempotent. Called with the GIL released or from
 * dealloc (then no other thread can hold a reference). */
static void stop_workers(SigQueue *q)
{
    pthread_mutex_lock(&q->mu);
    int n = q->nthreads;
    q->stopping = 1;
    q->nthreads = 0; /* whoever saw them first joins them */
    pthread_cond_broadcast(&q->has_work);
    pthread_mutex_unlock(&q->mu);
    for (int i = 0; i < n; i++)
        pthread_join(q->threads[i], NULL);
}

static int cmp_tags(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* --- Python methods ------------------------------------------------------------------------ */

static PyObject *SigQueue_submit(SigQueue *q, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "submit(pubkey, sig64, msg32, tag) takes 4 arguments");
        return NULL;
    }
    char *pk, *sig, *msg;
    Py_ssize_t pk_len, sig_len, msg_len;
    if (PyBytes_AsStringAndSize(args[0], &pk, &pk_len) < 0 ||
        PyBytes_AsStringAndSize(args[1], &sig, &sig_len) < 0 ||
        PyBytes_AsStringAndSize(args[2], &msg, &msg_len) < 0)
        return NULL;
    long long tag = PyLong_AsLongLong(args[3]);
    if (tag == -1 && PyErr_Occurred())
        return NULL;
    if (pk_len < 1 || pk_len > MAX_PUBKEY || sig_len != 64 || msg_len != 32) {
        PyErr_SetString(PyExc_ValueError, "submit wants a 1..65-byte key, a 64-byte r||s and a 32-byte message");
        return NULL;
    }
    job_t j;
    j.tag = tag;
    j.pubkey_len = (unsigned char)pk_len;
    memcpy(j.pubkey, pk, (size_t)pk_len);
    memcpy(j.sig, sig, 64);
    memcpy(j.msg, msg, 32);

    for (;;) {
        pthread_mutex_lock(&q->mu);
        if (q->stopping) {
            pthread_mutex_unlock(&q->mu);
            PyErr_SetString(PyExc_RuntimeError, "the signature queue is closed");
            return NULL;
        }
        if (q->count < q->cap)
            break;
        /* Full: make room by verifying the oldest job here, without the GIL (and never waiting
         * for the GIL while holding mu: that order could deadlock with another submitter). */
        Py_BEGIN_ALLOW_THREADS
        if (q->count == q->cap)
            run_one(q);
        pthread_mutex_unlock(&q->mu);
        Py_END_ALLOW_THREADS
    }
    q->ring[(q->head + q->count) % q->cap] = j;
    q->count++;
    if (q->sleeping && (q->count == WAKE_BATCH || q->count == q->cap))
        pthread_cond_signal(&q->has_work);
    pthread_mutex_unlock(&q->mu);
    Py_RETURN_NONE;
}

static PyObject *SigQueue_collect(SigQueue *q, PyObject *unused)
{
    (void)unused;
    long long *failed;
    size_t nfailed;
    int oom;
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&q->mu);
    if (q->sleeping && q->count > 1)
        pthread_cond_broadcast(&q->has_work); /* the tail, below WAKE_BATCH per worker */
    for (;;) {
        if (q->count > 0) {
            run_one(q); /* help rather than wait */
            continue;
        }
        if (q->running == 0)
            break;
        pthread_cond_wait(&q->idle, &q->mu);
    }
    failed = q->failed;
    nfailed = q->nfailed;
    oom = q->oom;
    q->failed = NULL;
    q->nfailed = q->failed_cap = 0;
    q->oom = 0;
    pthread_mutex_unlock(&q->mu);
    if (nfailed > 1)
        qsort(failed, nfailed, sizeof *failed, cmp_tags);
    Py_END_ALLOW_THREADS
    if (oom) {
        free(failed);
        return PyErr_NoMemory();
    }
    PyObject *out = PyList_New((Py_ssize_t)nfailed);
    for (size_t i = 0; out && i < nfailed; i++) {
        PyObject *tag = PyLong_FromLongLong(failed[i]);
        if (!tag) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)i, tag);
    }
    free(failed);
    return out;
}

static PyObject *SigQueue_cancel(SigQueue *q, PyObject *unused)
{
    (void)unused;
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&q->mu);
    q->count = 0;
    while (q->running > 0)
        pthread_cond_wait(&q->idle, &q->mu);
    q->nfailed = 0;
    q->oom = 0;
    pthread_mutex_unlock(&q->mu);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *SigQueue_close(SigQueue *q, PyObject *unused)
{
    (void)unused;
    Py_BEGIN_ALLOW_THREADS
    stop_workers(q);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *SigQueue_get_threads(SigQueue *q, void *unused)
{
    (void)unused;
    pthread_mutex_lock(&q->mu);
    int n = q->nthreads;
    pthread_mutex_unlock(&q->mu);
    return PyLong_FromLong(n);
}

static PyObject *SigQueue_get_closed(SigQueue *q, void *unused)
{
    (void)unused;
    pthread_mutex_lock(&q->mu);
    int stopping = q->stopping;
    pthread_mutex_unlock(&q->mu);
    return PyBool_FromLong(stopping);
}

/* --- construction ------------------------------------------------------------------------- */

static void *addr_arg(PyObject *v, const char *what)
{
    void *p = PyLong_AsVoidPtr(v);
    if (!p && !PyErr_Occurred())
        PyErr_Format(PyExc_ValueError, "%s must not be NULL", what);
    return p;
}

static int SigQueue_init(SigQueue *q, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"ctx", "pubkey_parse", "sig_parse_compact", "verify", "threads", "capacity", NULL};
    PyObject *ctx, *pp, *sp, *vf;
    int threads = 1;
    Py_ssize_t capacity = 4096;
    if (q->sync_ready) {
        PyErr_SetString(PyExc_RuntimeError, "SigQueue is already initialized");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOO|in", kwlist, &ctx, &pp, &sp, &vf, &threads, &capacity))
        return -1;
    if (threads < 0 || threads > MAX_THREADS) {
        PyErr_Format(PyExc_ValueError, "threads must be 0..%d", MAX_THREADS);
        return -1;
    }
    if (capacity < 1 || (size_t)capacity > SIZE_MAX / sizeof(job_t)) {
        PyErr_SetString(PyExc_ValueError, "capacity must be positive");
        return -1;
    }
    if (!(q->ctx = addr_arg(ctx, "ctx")) ||
        !(q->pubkey_parse = (pubkey_parse_fn)addr_arg(pp, "pubkey_parse")) ||
        !(q->sig_parse = (sig_parse_compact_fn)addr_arg(sp, "sig_parse_compact")) ||
        !(q->verify = (verify_fn)addr_arg(vf, "verify")))
        return -1;
    q->ring = PyMem_RawMalloc((size_t)capacity * sizeof(job_t));
    if (!q->ring) {
        PyErr_NoMemory();
        return -1;
    }
    q->cap = (size_t)capacity;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->has_work, NULL);
    pthread_cond_init(&q->idle, NULL);
    q->sync_ready = 1;
    for (int i = 0; i < threads; i++) {
        int err = pthread_create(&q->threads[i], NULL, worker_main, q);
        if (err) {
            Py_BEGIN_ALLOW_THREADS
            stop_workers(q);
            Py_END_ALLOW_THREADS
            errno = err;
            PyErr_SetFromErrno(PyExc_OSError);
            return -1;
        }
        pthread_mutex_lock(&q->mu);
        q->nthreads = i + 1;
        pthread_mutex_unlock(&q->mu);
    }
    return 0;
}

static void SigQueue_dealloc(SigQueue *q)
{
    if (q->sync_ready) {
        /* Joining needs no GIL from the workers: at most one verification each to wait for. */
        stop_workers(q);
        pthread_cond_destroy(&q->idle);
        pthread_cond_destroy(&q->has_work);
        pthread_mutex_destroy(&q->mu);
    }
    PyMem_RawFree(q->ring);
    free(q->failed);
    Py_TYPE(q)->tp_free((PyObject *)q);
}

static PyMethodDef SigQueue_methods[] = {
    {"submit", (PyCFunction)(void (*)(void))SigQueue_submit, METH_FASTCALL,
     "submit(pubkey, sig64, msg32, tag): queue one verification (copies its arguments)."},
    {"collect", (PyCFunction)SigQueue_collect, METH_NOARGS,
     "Verify what is left (helping the workers, GIL released); the failed tags, ascending. Ends the batch."},
    {"cancel", (PyCFunction)SigQueue_cancel, METH_NOARGS,
     "Drop the queued jobs and the batch's failures (waits for the jobs being verified)."},
    {"close", (PyCFunction)SigQueue_close, METH_NOARGS,
     "Stop and join the worker threads; queued jobs stay for collect to verify. Idempotent."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef SigQueue_getset[] = {
    {"threads", (getter)SigQueue_get_threads, NULL, "worker threads running", NULL},
    {"closed", (getter)SigQueue_get_closed, NULL, "close() was called", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject SigQueueType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hashforge.consensus._sigqueue.SigQueue",
    .tp_doc = "SigQueue(ctx, pubkey_parse, sig_parse_compact, verify, threads=1, capacity=4096): "
              "ECDSA verifications on native threads; addresses are libsecp256k1's.",
    .tp_basicsize = sizeof(SigQueue),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)SigQueue_init,
    .tp_dealloc = (destructor)SigQueue_dealloc,
    .tp_methods = SigQueue_methods,
    .tp_getset = SigQueue_getset,
};

static struct PyModuleDef sigqueue_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "hashforge.consensus._sigqueue",
    .m_doc = "ECDSA verification on native threads without the GIL; see hashforge.consensus.sigqueue.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__sigqueue(void)
{
    if (PyType_Ready(&SigQueueType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&sigqueue_module);
    if (!m)
        return NULL;
    Py_INCREF(&SigQueueType);
    if (PyModule_AddObject(m, "SigQueue", (PyObject *)&SigQueueType) < 0) {
        Py_DECREF(&SigQueueType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "MAX_THREADS", MAX_THREADS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
