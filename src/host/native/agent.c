/*
 * nsd host agent: the part of `nsd host` that runs inside the real kernel's namespaces.
 *
 * Node never unshares or setns itself (only its main thread would move; libuv's pool threads would
 * keep the host's namespaces). This program does, and carries out operations sent to it as binary
 * frames on stdin, answering each with one frame on stdout, in order. The protocol, the operations
 * and the limits are described in docs/host-backend.md; src/host/protocol.ts is the other side.
 *
 *   agent ns     become init (pid 1) of a new pid + IPC namespace (clone3 CLONE_NEWPID|CLONE_NEWIPC,
 *                set_tid {1}); the first frame on stdout is a hello carrying the init's host pid
 *                (data: the mode, then " sha256" when libcrypto was found, for OP_SHMFILE).
 *   agent plain  stay in the caller's namespaces (dump of another namespace, check).
 *
 * Request:  u32 len | u32 op | u32 nargs | i64 args[nargs] | data     (len counts what follows it)
 * Response: u32 len | i64 ret | i32 err | u32 0 | data                 (err: errno, 0 on success)
 * Ops whose first argument (the task) is non-zero are forwarded to that holder task (a child made by
 * OP_TASK at a chosen pid with clone3 set_tid) over a socketpair and run there.
 *
 * Every IPC call goes through syscall(2), never through the glibc wrappers, so arguments reach the
 * kernel unchanged; glibc's msqid_ds/semid_ds/shmid_ds have the kernel's *64_ds layout on x86_64.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif
#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif
#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif
#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif
#ifndef CLONE_NEWPID
#define CLONE_NEWPID 0x20000000
#endif

/* Operations (src/host/protocol.ts has the same numbers). */
enum {
    OP_PING = 1,       /* ()                                   → getpid()                        */
    OP_SYSCTL_W = 2,   /* (task) data "path\0value"            → 0; path under /proc/sys          */
    OP_GET = 3,        /* (task, kind, key, arg, flg, cuid, cgid, next_id) [data] → id; with data,
                        * the new queue's messages sent (as OP_MSGSNDV) or set's values set (as
                        * OP_SETALL) in the same operation                                        */
    OP_MSGSND = 4,     /* (task, id, mtype, flg) data body     → 0                                */
    OP_SETALL = 5,     /* (task, id) data u16[nsems]           → 0                                */
    OP_SEMOP = 6,      /* (task, id, num, op, flg)             → 0                                */
    OP_SHMWRITE = 7,   /* (task, id) data contents             → 0 (attach, copy, detach; then a
                        * read-only attach compares the segment with the data: EIO if it differs) */
    OP_SHMAT = 8,      /* (task, id, addr, flg)                → address; the task keeps it       */
    OP_CTL = 9,        /* (task, kind, id, cmd, arg)           → ctl result (SHM_LOCK, IPC_RMID…) */
    OP_SET = 10,       /* (task, kind, id, uid, gid, mode, qbytes) → 0 (IPC_SET)                  */
    OP_TASK = 11,      /* (0, pid)                             → pid; a holder task at pid        */
    OP_KILL = 12,      /* (0, pid)                             → 0; kill and reap a holder        */
    OP_DUMP = 13,      /* (0, hostpid or 0 for this namespace, flags) → 0, data: dump records;
                        * flags DUMP_NO_SHM_DATA: shm contents not read (no attachment, so no
                        * change to any segment's lpid/atime/dtime); DUMP_SHM_TO_DIR, data a
                        * directory: each segment's non-zero pages written there as CRIU's
                        * pages-<k>.img (k = 1, 2, … in dump order), its record carrying k and
                        * the runs (first page, count) instead of the contents                    */
    OP_EXEC = 14,      /* (0, capture) data argv\0…            → wait status (data: output)       */
    OP_HOLD = 15,      /* ()                                   → 0, then detach and stay          */
    OP_RESET = 16,     /* ()                                   → 0: kill holders, fresh IPC ns    */
    OP_CHECK = 17,     /* ()                                   → 0, data: "name yes|no detail\n"  */
    OP_SETVAL = 18,    /* (task, id, num, val)                 → 0                                */
    OP_SHMDT = 19,     /* (task, addr)                         → 0                                */
    OP_MSGRCV = 20,    /* (task, id, mtype, flg)               → size (the message is dropped)    */
    /* 21: unused (was a one-segment OP_SHMTOUCHV)                                                 */
    OP_MSGSNDV = 22,   /* (task, id, flg) data: CRIU's ipcns-msg message records, each {u32 len,
                        * ipc_msg {1: mtype, 2: msize} in len bytes, body, zeros to a multiple of
                        * 8} → messages sent: a queue's messages in one operation, in order; on a
                        * failure -1 (errno; EINVAL for a record not in that form), the earlier
                        * ones sent                                                                */
    OP_SEMOPV = 23,    /* (task, id) data {u16 num, i16 op, i16 flg}… → 0: one semop call with
                        * every operation of the frame (atomic, as semop(2) is)                   */
    OP_SHMFILE = 24,   /* (0, id) data "path\0" {u64 offset, u64 length}… → 0 at once: a
                        * background job reads the segment's contents from a CRIU pages image,
                        * each run of the segment in turn from the file (back to back) straight
                        * into an attachment (EIO when the file is not exactly that long), and
                        * hashes what it put there (ENOTSUP without libcrypto: see hello); OP_SYNC
                        * answers the bytes read and their SHA-256                                */
    OP_SYNC = 25,      /* ()                                   → 0 once the background threads
                        * have done every job given them, data: each OP_SHMFILE's
                        * {i64 id, i64 bytes read, u8 sha256[32]} since the last OP_SYNC; -1
                        * (errno) for the first job that failed, data: i64 its object's id, i64
                        * its kind (1 a queue's messages, 3 a segment's contents)                */
    OP_GETV = 26,      /* (task, kind, count) data: count rows {i64 key, arg, flg, cuid, cgid,
                        * next_id; u32 how; u32 dlen; data[dlen]} → count, data: i64 id of each
                        * object: OP_GET of each row in order (one frame for many objects), then
                        * with how 0 its data as OP_GET's, with how 1 (a set) SETVAL of each
                        * non-zero u16 value of the data (a semaphore left at 0 keeps sempid 0);
                        * on the first failure -1 (errno), data: the ids of the rows before it,
                        * which are done                                                          */
    OP_SHMTOUCHV = 27, /* (task) data: i64 ids                  → count: each segment attached
                        * read-only and detached in turn, so the task is its lpid (one frame, one
                        * round trip to a holder, for many segments);
                        * on a failure -1 (errno), data: u32 the index of the id that failed      */
};

/* OP_DUMP flags. */
enum { DUMP_NO_SHM_DATA = 1, DUMP_SHM_TO_DIR = 2 };

/* Dump record kinds. */
enum { R_VAR = 1, R_MSQ = 2, R_MSG = 3, R_SEM = 4, R_SHM = 5, R_TASK = 6, R_ATTACH = 7, R_NOTE = 8 };

struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};

static pid_t clone3_at(uint64_t flags, pid_t at)
{
    struct clone_args_v2 a;
    pid_t tid[1] = {at};
    memset(&a, 0, sizeof a);
    a.flags = flags;
    a.exit_signal = SIGCHLD;
    if (at > 0) {
        a.set_tid = (uint64_t)(uintptr_t)tid;
        a.set_tid_size = 1;
    }
    return (pid_t)syscall(SYS_clone3, &a, sizeof a);
}

/* ---- buffers and frames ---------------------------------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
};

static void die(const char *what)
{
    fprintf(stderr, "nsd-host-agent: %s: %s\n", what, strerror(errno));
    _exit(1);
}

static void need(struct buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        die("out of memory");
    b->p = p;
    b->cap = cap;
}

static void put(struct buf *b, const void *d, size_t n)
{
    need(b, n);
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void put_u32(struct buf *b, uint32_t v) { put(b, &v, 4); }

/* One record: u32 len | u32 kind | u32 nargs | i64 args | data. */
static void record(struct buf *b, uint32_t kind, int nargs, const int64_t *args, const void *data, size_t n)
{
    put_u32(b, (uint32_t)(8 + 8 * nargs + n));
    put_u32(b, kind);
    put_u32(b, (uint32_t)nargs);
    put(b, args, 8 * (size_t)nargs);
    if (n)
        put(b, data, n);
}

static int read_full(int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t r = write(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

struct req {
    uint32_t op, nargs;
    int64_t args[16];
    char *data;
    size_t dlen;
    char *raw; /* the whole frame after its length, for forwarding */
    char *own; /* raw's allocation, when it is not in the input buffer */
    uint32_t rawlen;
};

/* Buffered input and output of the agent's own stdin/stdout (a restore sends thousands of frames
 * at once: one read and one write per batch, not per frame). Holder sockets are unbuffered. */
static struct buf inbuf, outbuf;
static size_t inpos;

static void flush_out(void)
{
    if (outbuf.len && write_full(1, outbuf.p, outbuf.len) < 0)
        die("write response");
    outbuf.len = 0;
}

/* Makes `n` bytes of fd 0 available at inbuf.p + inpos; -1 at end of input. */
static int fill_in(size_t n)
{
    if (inbuf.len - inpos >= n)
        return 0;
    memmove(inbuf.p, inbuf.p + inpos, inbuf.len - inpos);
    inbuf.len -= inpos;
    inpos = 0;
    while (inbuf.len < n) {
        flush_out(); /* about to block: answer what is done */
        need(&inbuf, n < 1 << 20 ? 1 << 20 : n);
        ssize_t r = read(0, inbuf.p + inbuf.len, inbuf.cap - inbuf.len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        inbuf.len += (size_t)r;
    }
    return 0;
}

/* Reads one frame (from fd 0 through the buffer, or unbuffered from a holder socket). */
static int read_req(int fd, struct req *q)
{
    uint32_t len;
    if (fd == 0) {
        if (fill_in(4) < 0)
            return -1;
        memcpy(&len, inbuf.p + inpos, 4);
    } else if (read_full(fd, &len, 4) < 0)
        return -1;
    if (len < 8 || len > (1u << 31))
        die("bad frame length");
    if (fd == 0) {
        /* In place: the frame stays valid until the next read_req. */
        if (fill_in(4 + (size_t)len) < 0)
            die("truncated frame");
        q->raw = inbuf.p + inpos + 4;
        inpos += 4 + (size_t)len;
    } else {
        free(q->own);
        q->raw = q->own = malloc(len);
        if (!q->raw)
            die("out of memory");
        if (read_full(fd, q->raw, len) < 0)
            die("truncated frame");
    }
    q->rawlen = len;
    memcpy(&q->op, q->raw, 4);
    memcpy(&q->nargs, q->raw + 4, 4);
    if (q->nargs > 16 || 8 + 8 * (size_t)q->nargs > len)
        die("bad frame arguments");
    memset(q->args, 0, sizeof q->args);
    memcpy(q->args, q->raw + 8, 8 * (size_t)q->nargs);
    q->data = q->raw + 8 + 8 * q->nargs;
    q->dlen = len - 8 - 8 * (size_t)q->nargs;
    return 0;
}

static void write_resp(int fd, int64_t ret, int32_t err, const void *data, size_t n)
{
    char head[20];
    uint32_t len = (uint32_t)(16 + n), zero = 0;
    memcpy(head, &len, 4);
    memcpy(head + 4, &ret, 8);
    memcpy(head + 12, &err, 4);
    memcpy(head + 16, &zero, 4);
    if (fd == 1) {
        put(&outbuf, head, 20);
        if (n)
            put(&outbuf, data, n);
        if (outbuf.len > (1u << 20))
            flush_out();
        return;
    }
    if (write_full(fd, head, 20) < 0 || (n && write_full(fd, data, n) < 0))
        die("write response");
}

/* ---- holder tasks ----------------------------------------------------------------------- */

#define MAX_TASKS 4096
static struct {
    pid_t pid;
    int fd;
} tasks[MAX_TASKS];
static int ntasks;

static int task_fd(pid_t pid)
{
    for (int i = 0; i < ntasks; i++)
        if (tasks[i].pid == pid)
            return tasks[i].fd;
    return -1;
}

/* ---- the operations ----------------------------------------------------------------------- */

static int write_file(const char *path, const char *v, size_t n)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, v, n);
    int e = errno;
    close(fd);
    errno = e;
    return w == (ssize_t)n ? 0 : -1;
}

static int read_file(const char *path, char *out, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t r = read(fd, out, cap - 1);
    close(fd);
    if (r < 0)
        return -1;
    out[r] = 0;
    return (int)r;
}

static int next_id_fd[4] = {-1, -1, -1, -1};

/* Creates an object as its creator: euid/egid = cuid/cgid make cuid/cgid right (ipcperms'
 * ipc_addid stores current_euid/egid); the real and saved uid stay 0 so the capabilities return. */
static long op_get(const int64_t *a)
{
    int kind = (int)a[1];
    long key = (long)a[2], arg = (long)a[3];
    int flg = (int)a[4];
    uid_t cuid = (uid_t)a[5];
    gid_t cgid = (gid_t)a[6];
    if (a[7] >= 0) {
        static const char *files[] = {"", "/proc/sys/kernel/msg_next_id", "/proc/sys/kernel/sem_next_id",
                                      "/proc/sys/kernel/shm_next_id"};
        char v[32];
        int n = snprintf(v, sizeof v, "%lld", (long long)a[7]);
        if (kind < 1 || kind > 3) {
            errno = EINVAL;
            return -1;
        }
        /* Kept open (an ipc sysctl file writes the namespace it was opened in: reopened after
         * OP_RESET); each write at offset 0. */
        if (next_id_fd[kind] < 0 && (next_id_fd[kind] = open(files[kind], O_WRONLY | O_CLOEXEC)) < 0)
            return -1;
        if (pwrite(next_id_fd[kind], v, (size_t)n, 0) != n)
            return -1;
    }
    int as = cuid != 0 || cgid != 0;
    if (as && (syscall(SYS_setresgid, -1, cgid, -1) < 0 || syscall(SYS_setresuid, -1, cuid, -1) < 0))
        return -1;
    long r;
    if (kind == 1)
        r = syscall(SYS_msgget, (int)key, flg);
    else if (kind == 2)
        r = syscall(SYS_semget, (int)key, (int)arg, flg);
    else if (kind == 3)
        r = syscall(SYS_shmget, (int)key, (size_t)arg, flg);
    else {
        errno = EINVAL;
        r = -1;
    }
    int e = errno;
    if (as && (syscall(SYS_setresuid, -1, 0, -1) < 0 || syscall(SYS_setresgid, -1, 0, -1) < 0))
        die("cannot become root again");
    errno = e;
    return r;
}

static long op_msgsnd(const struct req *q)
{
    char *m = malloc(8 + q->dlen);
    if (!m)
        return -1;
    int64_t mtype = q->args[2];
    memcpy(m, &mtype, 8);
    memcpy(m + 8, q->data, q->dlen);
    long r = syscall(SYS_msgsnd, (int)q->args[1], m, q->dlen, (int)q->args[3]);
    int e = errno;
    free(m);
    errno = e;
    return r;
}

/* A protobuf varint of at most `max` bytes at *pp, before `end`: 0 and *pp moved past it, or -1
 * (longer, or cut short). */
static int read_varint(const unsigned char **pp, const unsigned char *end, int max, uint64_t *v)
{
    const unsigned char *p = *pp;
    *v = 0;
    for (int i = 0; i < max && p < end; i++) {
        unsigned char x = *p++;
        *v |= (uint64_t)(x & 0x7f) << (7 * i);
        if (x < 0x80) {
            *pp = p;
            return 0;
        }
    }
    return -1;
}

/* OP_MSGSNDV: one msgsnd per message record of `data` — CRIU's ipcns-msg form (criu/ipc_ns.c
 * dump_ipc_msg_queue_messages: u32 length, the ipc_msg header {mtype = 1, msize = 2}, the body
 * zero-padded to 8), which Node passes straight from the image — through one reused struct
 * msgbuf (one per thread: the background threads send too). A header with anything but those two
 * fields in that order is EINVAL (Node sends only such: src/cr/image/bytes.ts plainIpcMsgSpan). */
static long msgsndv(int id, const char *data, size_t dlen, int flg)
{
    static __thread char *m;
    static __thread size_t cap;
    const unsigned char *p = (const unsigned char *)data, *end = p + dlen;
    long sent = 0;
    while (p < end) {
        uint32_t hlen;
        uint64_t mtype, msize;
        if (end - p < 4)
            goto bad;
        memcpy(&hlen, p, 4);
        p += 4;
        if ((size_t)(end - p) < hlen)
            goto bad;
        const unsigned char *hend = p + hlen;
        if (p >= hend || *p++ != 0x08 || read_varint(&p, hend, 10, &mtype) < 0)
            goto bad;
        if (p >= hend || *p++ != 0x10 || read_varint(&p, hend, 5, &msize) < 0 || msize > UINT32_MAX || p != hend)
            goto bad;
        size_t padded = ((size_t)msize + 7) & ~(size_t)7;
        if ((size_t)(end - p) < padded)
            goto bad;
        if (cap < 8 + (size_t)msize) {
            free(m);
            cap = 8 + (size_t)msize;
            if (!(m = malloc(cap))) {
                cap = 0;
                errno = ENOMEM;
                return -1;
            }
        }
        long t = (long)mtype; /* msgsnd's mtype is a long: above LONG_MAX it is negative, EINVAL */
        memcpy(m, &t, 8);
        memcpy(m + 8, p, (size_t)msize);
        if (syscall(SYS_msgsnd, id, m, (size_t)msize, flg) < 0)
            return -1;
        p += padded;
        sent++;
    }
    return sent;
bad:
    errno = EINVAL;
    return -1;
}

static long op_msgsndv(const struct req *q)
{
    return msgsndv((int)q->args[1], q->data, q->dlen, (int)q->args[2]);
}

/* ---- the background threads ----------------------------------------------------------------- */

/* Background threads do the long part of two kinds of operation while the main one goes on with
 * the next: a new queue's messages (OP_GET/OP_GETV with data, in the agent) and an
 * OP_SHMFILE's reading of a pages image into its segment. On a machine with a spare core, a
 * restore's 10^4 msgsnd calls and its megabytes of shm pages overlap the creation of the other
 * objects, and once the main thread is done they run on every core (BG_THREADS). A job is one
 * queue's messages, in order, or one segment; jobs are independent. Threads share the tgid, so
 * the queues' lspid and the segments' lpid are the agent's (1) either way. OP_SYNC waits for them
 * and reports the first failure and every OP_SHMFILE's result; so does every
 * operation that could see a queue or segment still filling or that forks (not bg_compatible): a
 * child made by a raw clone3 must not inherit a lock (malloc's) held by another thread. */
#define BG_THREADS 2
enum { JOB_MSG = 1, JOB_SHMFILE = 3 };

struct job {
    struct job *next;
    int kind, id;
    size_t dlen;
    char data[];
};

static long shmfile(int id, const char *data, size_t dlen, unsigned char md[32]);

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work, idle;
    struct job *head, *tail;
    int busy, started, stop, fail_errno; /* busy: threads at a job; started: threads running */
    int shm_pending;                     /* OP_SHMFILE jobs queued or running */
    int64_t fail_id, fail_kind;
    struct buf results; /* each OP_SHMFILE's {i64 id, i64 bytes, u8 sha256[32]} */
    pthread_t threads[BG_THREADS];
} bg = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};

static void *bg_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&bg.mu);
    for (;;) {
        while (!bg.head && !bg.stop)
            pthread_cond_wait(&bg.work, &bg.mu);
        if (!bg.head) {
            pthread_mutex_unlock(&bg.mu);
            return NULL;
        }
        struct job *j = bg.head;
        bg.head = j->next;
        if (!bg.head)
            bg.tail = NULL;
        bg.busy++;
        int skip = bg.fail_errno != 0; /* after a failure the restore is refused: nothing more */
        pthread_mutex_unlock(&bg.mu);
        unsigned char md[32];
        long r = skip ? 0 : j->kind == JOB_MSG ? msgsndv(j->id, j->data, j->dlen, IPC_NOWAIT) : shmfile(j->id, j->data, j->dlen, md);
        int e = errno;
        pthread_mutex_lock(&bg.mu);
        if (r < 0 && !bg.fail_errno) {
            bg.fail_errno = e;
            bg.fail_id = j->id;
            bg.fail_kind = j->kind;
        }
        if (j->kind == JOB_SHMFILE) {
            if (r >= 0 && !skip) {
                int64_t rec[2] = {j->id, r};
                put(&bg.results, rec, sizeof rec);
                put(&bg.results, md, sizeof md);
            }
            bg.shm_pending--;
        }
        free(j);
        bg.busy--;
        if (!bg.head && bg.busy == 0)
            pthread_cond_broadcast(&bg.idle);
    }
}

/* Hands a job to the background threads (a copy of its data: the frame's buffer is reused). -1
 * when no thread can be had or the copy made: the caller does it itself. */
static int bg_push(int kind, int id, const char *data, size_t dlen)
{
    if (!bg.started) {
        bg.stop = 0;
        while (bg.started < BG_THREADS && pthread_create(&bg.threads[bg.started], NULL, bg_main, NULL) == 0)
            bg.started++;
        if (!bg.started)
            return -1;
    }
    struct job *j = malloc(sizeof *j + dlen);
    if (!j)
        return -1;
    j->next = NULL;
    j->kind = kind;
    j->id = id;
    j->dlen = dlen;
    memcpy(j->data, data, dlen);
    pthread_mutex_lock(&bg.mu);
    if (bg.tail)
        bg.tail->next = j;
    else
        bg.head = j;
    bg.tail = j;
    if (kind == JOB_SHMFILE)
        bg.shm_pending++;
    pthread_cond_signal(&bg.work);
    pthread_mutex_unlock(&bg.mu);
    return 0;
}

/* Waits until the background threads have nothing left (a failure stays for OP_SYNC to report). */
static void bg_idle(void)
{
    if (!bg.started)
        return;
    pthread_mutex_lock(&bg.mu);
    while (bg.head || bg.busy)
        pthread_cond_wait(&bg.idle, &bg.mu);
    pthread_mutex_unlock(&bg.mu);
}

/* OP_SYNC: waits until the background threads have nothing left; -1 (errno; the object in *id,
 * its kind in *kind) for the first of their jobs that failed since the last OP_SYNC, else 0 with
 * the OP_SHMFILEs' results since then appended to `out`. */
static int bg_wait(int64_t *id, int64_t *kind, struct buf *out)
{
    if (!bg.started)
        return 0;
    bg_idle();
    pthread_mutex_lock(&bg.mu);
    int e = bg.fail_errno;
    *id = bg.fail_id;
    *kind = bg.fail_kind;
    bg.fail_errno = 0;
    if (!e && bg.results.len)
        put(out, bg.results.p, bg.results.len);
    bg.results.len = 0;
    pthread_mutex_unlock(&bg.mu);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

/* Ends the background threads (once idle; their failures and results are dropped: OP_RESET starts
 * afresh). A namespace is a thread's own: after unshare(CLONE_NEWIPC) by the main thread, these
 * would still work in the old namespace, so OP_RESET ends them first and the next push starts
 * others, in the new one. */
static void bg_end(void)
{
    if (!bg.started)
        return;
    bg_idle();
    pthread_mutex_lock(&bg.mu);
    bg.fail_errno = 0;
    bg.results.len = 0;
    bg.stop = 1;
    pthread_cond_broadcast(&bg.work);
    pthread_mutex_unlock(&bg.mu);
    for (int i = 0; i < bg.started; i++)
        pthread_join(bg.threads[i], NULL);
    bg.started = 0;
}

/* Whether an operation of the agent's own may run while the background threads work: those that
 * create objects or fill sets and segments, or write a sysctl other than a queue limit — and,
 * while a segment may still be filling, none that touches a segment but another
 * OP_SHMFILE. Anything else (a queue operation, a queue limit, a holder's operation, a fork, a
 * dump) waits for them first. */
static int bg_compatible(const struct req *q)
{
    pthread_mutex_lock(&bg.mu);
    int shm_busy = bg.shm_pending > 0;
    pthread_mutex_unlock(&bg.mu);
    switch (q->op) {
    case OP_GET:
    case OP_GETV:
    case OP_SETALL:
    case OP_SETVAL:
    case OP_SEMOP:
    case OP_SEMOPV:
    case OP_PING:
        return 1;
    case OP_SYSCTL_W:
        /* A queue limit may be lowered (a restore's end): not while messages are being sent. */
        return !(q->dlen >= 10 && memcmp(q->data, "kernel/msg", 10) == 0);
    case OP_SHMFILE:
        return 1;
    case OP_SHMWRITE:
    case OP_SHMAT:
    case OP_SHMTOUCHV:
    case OP_SHMDT:
        return !shm_busy;
    case OP_CTL:
    case OP_SET:
        return q->args[1] == 2 || (q->args[1] == 3 && !shm_busy); /* not a queue; a segment once filled */
    }
    return 0;
}

static long op_shmwrite(const struct req *q)
{
    void *at = (void *)syscall(SYS_shmat, (int)q->args[1], NULL, 0);
    if (at == (void *)-1)
        return -1;
    /* One MADV_POPULATE_WRITE (Linux 5.14) maps every page at once, not a fault per page; where
     * it is refused the copy faults them in as before. */
    madvise(at, q->dlen, 23 /* MADV_POPULATE_WRITE */);
    memcpy(at, q->data, q->dlen);
    /* The check a restore's verification makes of the contents, here, before the plan's later
     * attachments (holders, the lpid task) set the segment's last pid and times: a re-dump would
     * have to attach again after them (do_shmat and shm_close set shm_lprid/atim/dtim). The
     * segment's pages are read back through the same (shared) attachment: one attach and one
     * detach per segment, each detach costing a TLB flush. */
    int same = memcmp(at, q->data, q->dlen) == 0;
    if (syscall(SYS_shmdt, at) < 0)
        return -1;
    if (!same) {
        errno = EIO;
        return -1;
    }
    return 0;
}

/* ---- SHA-256, from the system's libcrypto -------------------------------------------------- */

/* Found at run time (dlopen), so that building the agent needs no OpenSSL headers; where there is
 * no libcrypto the hello says so and Node reads the pages images itself (docs/host-backend.md). */
static struct {
    void *(*ctx_new)(void);
    void (*ctx_free)(void *);
    const void *(*sha256)(void);
    int (*init)(void *, const void *, void *);
    int (*update)(void *, const void *, size_t);
    int (*final)(void *, unsigned char *, unsigned int *);
    int ok;
} crypto;

static void crypto_load(void)
{
    const char *off = getenv("NSD_AGENT_NO_LIBCRYPTO"); /* tests: the path without it */
    if (off && *off)
        return;
    void *h = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        h = dlopen("libcrypto.so", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return;
    *(void **)&crypto.ctx_new = dlsym(h, "EVP_MD_CTX_new");
    *(void **)&crypto.ctx_free = dlsym(h, "EVP_MD_CTX_free");
    *(void **)&crypto.sha256 = dlsym(h, "EVP_sha256");
    *(void **)&crypto.init = dlsym(h, "EVP_DigestInit_ex");
    *(void **)&crypto.update = dlsym(h, "EVP_DigestUpdate");
    *(void **)&crypto.final = dlsym(h, "EVP_DigestFinal_ex");
    crypto.ok = crypto.ctx_new && crypto.ctx_free && crypto.sha256 && crypto.init && crypto.update && crypto.final;
}

/* OP_SHMFILE's run i: byte offset in the segment and length. */
static void shmfile_run(const char *runs, size_t i, uint64_t *off, uint64_t *len)
{
    memcpy(off, runs + 16 * i, 8);
    memcpy(len, runs + 16 * i + 8, 8);
}

/* OP_SHMFILE: the runs are read from the file back to back into one attachment, and hashed there
 * (SHA-256 of the bytes the segment now holds, in file order: the file's digest when it is the
 * file the manifest describes). */
/* OP_SHMFILE's work on segment `id` with its frame data (path, runs): the bytes read (md: their
 * SHA-256), or -1 (errno). Thread-safe: the background threads run it. */
static long shmfile(int id, const char *data, size_t dlen, unsigned char md[32])
{
    if (!crypto.ok) {
        errno = ENOTSUP;
        return -1;
    }
    size_t pl = strnlen(data, dlen);
    if (pl == 0 || pl >= dlen || (dlen - pl - 1) % 16 != 0) {
        errno = EINVAL;
        return -1;
    }
    const char *runs = data + pl + 1;
    size_t nruns = (dlen - pl - 1) / 16;
    /* The runs must lie inside the segment's pages (the last one may end past shm_segsz, in its
     * last page): a read past them would land in whatever the attachment's neighbour mapping is.
     * IPC_STAT changes no time or pid of the segment. */
    struct shmid_ds ds;
    if (syscall(SYS_shmctl, id, IPC_STAT, &ds) < 0)
        return -1;
    uint64_t span = ((uint64_t)ds.shm_segsz + 4095) & ~(uint64_t)4095;
    for (size_t i = 0; i < nruns; i++) {
        uint64_t off, len;
        shmfile_run(runs, i, &off, &len);
        if (off > span || len > span - off) {
            errno = EINVAL;
            return -1;
        }
    }
    int fd = open(data, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char *at = (char *)syscall(SYS_shmat, id, NULL, 0);
    if (at == (char *)-1) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    off_t done = 0;
    long r = 0;
    for (size_t i = 0; i < nruns && r == 0; i++) {
        uint64_t off, len;
        shmfile_run(runs, i, &off, &len);
        /* The run's pages mapped at once (MADV_POPULATE_WRITE, Linux 5.14), then one copy from
         * the page cache into them. */
        madvise(at + (off & ~(uint64_t)4095), len + (off & 4095), 23 /* MADV_POPULATE_WRITE */);
        for (uint64_t got = 0; got < len;) {
            ssize_t n = pread(fd, at + off + got, len - got, done);
            if (n <= 0) {
                if (n == 0)
                    errno = EIO; /* the file ends before the runs do */
                r = -1;
                break;
            }
            got += (uint64_t)n;
            done += n;
        }
    }
    char extra;
    if (r == 0 && pread(fd, &extra, 1, done) != 0) {
        errno = EIO; /* bytes no run accounts for (or unreadable) */
        r = -1;
    }
    unsigned int mdlen = 0;
    if (r == 0) {
        void *ctx = crypto.ctx_new();
        int ok = ctx && crypto.init(ctx, crypto.sha256(), NULL) == 1;
        for (size_t i = 0; i < nruns && ok; i++) {
            uint64_t off, len;
            shmfile_run(runs, i, &off, &len);
            ok = crypto.update(ctx, at + off, len) == 1;
        }
        ok = ok && crypto.final(ctx, md, &mdlen) == 1 && mdlen == 32;
        if (ctx)
            crypto.ctx_free(ctx);
        if (!ok) {
            errno = EIO;
            r = -1;
        }
    }
    int e = errno;
    syscall(SYS_shmdt, at);
    close(fd);
    if (r < 0) {
        errno = e;
        return -1;
    }
    return (long)done;
}

static long op_ctl(const int64_t *a)
{
    int kind = (int)a[1], id = (int)a[2], cmd = (int)a[3];
    if (kind == 1)
        return syscall(SYS_msgctl, id, cmd, NULL);
    if (kind == 2)
        return syscall(SYS_semctl, id, (int)a[4], cmd, 0L);
    return syscall(SYS_shmctl, id, cmd, NULL);
}

static long op_set(const int64_t *a)
{
    int kind = (int)a[1], id = (int)a[2];
    union {
        struct msqid_ds msq;
        struct semid_ds sem;
        struct shmid_ds shm;
    } b;
    memset(&b, 0, sizeof b);
    struct ipc_perm *p = kind == 1 ? &b.msq.msg_perm : kind == 2 ? &b.sem.sem_perm : &b.shm.shm_perm;
    p->uid = (uid_t)a[3];
    p->gid = (gid_t)a[4];
    p->mode = (unsigned short)a[5];
    if (kind == 1) {
        b.msq.msg_qbytes = (msglen_t)a[6];
        return syscall(SYS_msgctl, id, IPC_SET, &b);
    }
    if (kind == 2)
        return syscall(SYS_semctl, id, 0, IPC_SET, &b);
    return syscall(SYS_shmctl, id, IPC_SET, &b);
}

static void holder_loop(int fd);
static long dispatch(const struct req *q, struct buf *out);

static long op_task(pid_t at)
{
    int sv[2];
    if (ntasks >= MAX_TASKS) {
        errno = ENOSPC;
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    pid_t pid = clone3_at(0, at);
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        holder_loop(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    tasks[ntasks].pid = pid;
    tasks[ntasks].fd = sv[0];
    ntasks++;
    return pid;
}

static long op_kill(pid_t pid)
{
    for (int i = 0; i < ntasks; i++) {
        if (tasks[i].pid != pid)
            continue;
        close(tasks[i].fd);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        tasks[i] = tasks[--ntasks];
        return 0;
    }
    errno = ESRCH;
    return -1;
}

/* ---- dump ------------------------------------------------------------------------------- */

static const char *SYSCTLS[] = {
    "kernel/msgmax", "kernel/msgmnb", "kernel/msgmni", "kernel/auto_msgmni", "kernel/sem", "kernel/shmmax",
    "kernel/shmall", "kernel/shmmni", "kernel/shm_rmid_forced", "kernel/msg_next_id", "kernel/sem_next_id",
    "kernel/shm_next_id", "fs/mqueue/queues_max", "fs/mqueue/msg_max", "fs/mqueue/msgsize_max",
    "fs/mqueue/msg_default", "fs/mqueue/msgsize_default", NULL};

static void perm_args(int64_t *a, const struct ipc_perm *p)
{
    a[1] = (uint32_t)p->__key;
    a[2] = p->uid;
    a[3] = p->gid;
    a[4] = p->cuid;
    a[5] = p->cgid;
    a[6] = p->mode;
}

static void note(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct buf *b, const char *fmt, ...)
{
    char t[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t, sizeof t, fmt, ap);
    va_end(ap);
    record(b, R_NOTE, 0, NULL, t, (size_t)(n < 0 ? 0 : n >= (int)sizeof t ? (int)sizeof t - 1 : n));
}

static void dump_sysctls(struct buf *b)
{
    struct buf t = {0};
    char path[128], v[256];
    for (const char **s = SYSCTLS; *s; s++) {
        snprintf(path, sizeof path, "/proc/sys/%s", *s);
        int n = read_file(path, v, sizeof v);
        if (n < 0)
            continue;
        while (n > 0 && (v[n - 1] == '\n' || v[n - 1] == ' '))
            v[--n] = 0;
        for (char *c = v; *c; c++)
            if (*c == '\t')
                *c = ' ';
        put(&t, *s, strlen(*s));
        put(&t, "=", 1);
        put(&t, v, (size_t)n);
        put(&t, "\n", 1);
    }
    record(b, R_VAR, 0, NULL, t.p, t.len);
    free(t.p);
}

static void dump_msg(struct buf *b)
{
    char msgmax[32];
    int raised = 0;
    struct msginfo info;
    int max = (int)syscall(SYS_msgctl, 0, MSG_INFO, &info);
    for (int i = 0; i <= max; i++) {
        struct msqid_ds d;
        int id = (int)syscall(SYS_msgctl, i, MSG_STAT_ANY, &d);
        if (id < 0)
            continue;
        int64_t a[15];
        a[0] = id;
        perm_args(a, &d.msg_perm);
        a[7] = (int64_t)d.msg_qbytes;
        a[8] = (int64_t)d.msg_qnum;
        a[9] = (int64_t)d.__msg_cbytes;
        a[10] = d.msg_stime;
        a[11] = d.msg_rtime;
        a[12] = d.msg_ctime;
        a[13] = d.msg_lspid;
        a[14] = d.msg_lrpid;
        record(b, R_MSQ, 15, a, NULL, 0);
        /* MSG_COPY (CONFIG_CHECKPOINT_RESTORE) copies the message at an index, leaving the queue as
         * it is. No message is larger than the queue's byte count. */
        size_t cap = (size_t)d.__msg_cbytes;
        char *m = malloc(8 + cap + 1);
        if (!m)
            die("out of memory");
        for (unsigned long k = 0; k < d.msg_qnum; k++) {
            long n = syscall(SYS_msgrcv, id, m, cap, (long)k, IPC_NOWAIT | MSG_COPY | MSG_NOERROR);
            if (n < 0 && errno == EINVAL && cap > 0 && (raised || read_file("/proc/sys/kernel/msgmax", msgmax, sizeof msgmax) > 0)) {
                /* MSG_COPY copies at most msgmax bytes (do_msgrcv: prepare_copy(buf, min(bufsz,
                 * msg_ctlmax))) and a larger message fails with EINVAL: msgmax may have been
                 * lowered after it was sent. Raise it for the rest of the dump, then put it back. */
                char v[32];
                int vn = snprintf(v, sizeof v, "%zu", cap > 0x7fffffff ? (size_t)0x7fffffff : cap);
                if (write_file("/proc/sys/kernel/msgmax", v, (size_t)vn) == 0) {
                    raised = 1;
                    n = syscall(SYS_msgrcv, id, m, cap, (long)k, IPC_NOWAIT | MSG_COPY | MSG_NOERROR);
                }
            }
            if (n < 0) {
                note(b, "msg %d: MSG_COPY of message %lu: %s", id, k, strerror(errno));
                break;
            }
            int64_t mt;
            memcpy(&mt, m, 8);
            record(b, R_MSG, 1, &mt, m + 8, (size_t)n);
        }
        free(m);
    }
    if (raised && write_file("/proc/sys/kernel/msgmax", msgmax, strlen(msgmax)) < 0)
        note(b, "could not put kernel/msgmax back to %s after reading large messages: %s", msgmax, strerror(errno));
}

/* The semaphore sets tasks of the dumped IPC namespace are asleep on, from each thread's
 * /proc/PID/task/TID/syscall ("NR arg0 …": arg0 of semop/semtimedop is the semid), so that
 * GETNCNT/GETZCNT (two calls per semaphore, most of a dump's syscalls) are asked only of those
 * sets. Where a thread's state cannot be told — the file unreadable, "running" (on a CPU, maybe
 * about to queue itself), a 32-bit task's ipc(2)/semtimedop_time64 (i386 117/420; unused or never
 * sleeping on x86_64, so at worst a needless full read), more sets than the list holds — every
 * set is asked (sleep_all). */
#define MAX_WAITED 64
static int waited[MAX_WAITED], nwaited, sleep_all;

static int waited_on(int id)
{
    if (sleep_all)
        return 1;
    for (int i = 0; i < nwaited; i++)
        if (waited[i] == id)
            return 1;
    return 0;
}

static void sem_sleepers(long hostpid)
{
    char path[320], line[512];
    snprintf(path, sizeof path, "/proc/%ld/task", hostpid);
    DIR *d = opendir(path);
    if (!d) {
        sleep_all = 1;
        return;
    }
    struct dirent *e;
    while (!sleep_all && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%ld/task/%s/syscall", hostpid, e->d_name);
        int n = read_file(path, line, sizeof line);
        if (n < 0) {
            if (errno != ENOENT && errno != ESRCH) /* the thread has exited */
                sleep_all = 1;
            continue;
        }
        char *end;
        long nr = strtol(line, &end, 10);
        if (end == line) { /* "running" */
            sleep_all = 1;
            break;
        }
        nr &= ~0x40000000L; /* x32 */
        if (nr == 117 || nr == 420) {
            sleep_all = 1;
            break;
        }
        int sem = 0;
#ifdef SYS_semop
        sem |= nr == SYS_semop;
#endif
#ifdef SYS_semtimedop
        sem |= nr == SYS_semtimedop;
#endif
        if (!sem)
            continue;
        long id = strtol(end, NULL, 16);
        if (nwaited == MAX_WAITED)
            sleep_all = 1;
        else
            waited[nwaited++] = (int)id;
    }
    closedir(d);
}

static void dump_sem(struct buf *b)
{
    struct seminfo info;
    int max = (int)syscall(SYS_semctl, 0, 0, SEM_INFO, &info);
    unsigned short *vals = NULL;
    int32_t *per = NULL;
    for (int i = 0; i <= max; i++) {
        struct semid_ds d;
        int id = (int)syscall(SYS_semctl, i, 0, SEM_STAT_ANY, &d);
        if (id < 0)
            continue;
        int n = (int)d.sem_nsems;
        vals = realloc(vals, sizeof *vals * (size_t)(n + 1));
        per = realloc(per, sizeof *per * 4 * (size_t)(n + 1));
        if (!vals || !per)
            die("out of memory");
        if (syscall(SYS_semctl, id, 0, GETALL, vals) < 0) {
            note(b, "sem %d: GETALL: %s", id, strerror(errno));
            continue;
        }
        /* GETNCNT/GETZCNT count the tasks asleep in semop on the set (count_semcnt walks its
         * pending queues): 0 without asking when no sleeper names this set (see sem_sleepers). */
        int asleep = waited_on(id);
        for (int k = 0; k < n; k++) {
            per[4 * k] = vals[k];
            per[4 * k + 1] = (int32_t)syscall(SYS_semctl, id, k, GETPID, 0L);
            per[4 * k + 2] = asleep ? (int32_t)syscall(SYS_semctl, id, k, GETNCNT, 0L) : 0;
            per[4 * k + 3] = asleep ? (int32_t)syscall(SYS_semctl, id, k, GETZCNT, 0L) : 0;
        }
        int64_t a[10];
        a[0] = id;
        perm_args(a, &d.sem_perm);
        a[7] = n;
        a[8] = d.sem_otime;
        a[9] = d.sem_ctime;
        record(b, R_SEM, 10, a, per, sizeof *per * 4 * (size_t)n);
    }
    free(vals);
    free(per);
}

/* Segments whose contents go into a dump answer straight from their read-only attachment (written
 * with writev after the records before them, then detached): no copy into the record buffer. */
static struct shmseg {
    size_t pos; /* where in the record buffer the contents belong */
    void *at;
    size_t n;
} *segs;
static int nsegs, capsegs;

static int writev_full(int fd, struct iovec *iov, int n);

/* Where DUMP_SHM_TO_DIR writes the pages files (set by op_dump for the reader), and, shared with
 * op_dump, the number of the pages file a failed write was for (0: none failed). */
static const char *pages_dir;
static volatile int *pages_failed;

/* Writes the non-zero pages of a segment's attachment `at` (n bytes) to pages_dir/pages-<k>.img,
 * back to back, as CRIU's pages images hold them; their runs (first page, count) as i64 pairs in
 * `runs`. -1 (errno) when the file cannot be written: the dump fails, it never drops contents. */
static int write_pages(const char *at, size_t n, int k, struct buf *runs)
{
    const size_t page = 4096;
    char path[4200];
    if (snprintf(path, sizeof path, "%s/pages-%d.img", pages_dir, k) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        return -1;
    static const uint64_t zero[4096 / 8];
    struct iovec iov[64];
    int niov = 0;
    int64_t first = -1, count = 0;
    for (size_t off = 0; off < n; off += page) {
        /* A page is kept unless all zero (a last partial page compared over its bytes only, and
         * written whole: the mapping reads zeros past the segment's size to the page's end). */
        if (memcmp(at + off, zero, n - off < page ? n - off : page) == 0)
            continue;
        int64_t pg = (int64_t)(off / page);
        if (first >= 0 && pg == first + count) {
            count++;
            iov[niov - 1].iov_len += page;
            continue;
        }
        if (first >= 0)
            put(runs, (int64_t[2]){first, count}, 16);
        if (niov == 64) {
            if (writev_full(fd, iov, niov) < 0)
                goto fail;
            niov = 0;
        }
        first = pg;
        count = 1;
        iov[niov++] = (struct iovec){(void *)(at + off), page};
    }
    if (first >= 0)
        put(runs, (int64_t[2]){first, count}, 16);
    if (niov > 0 && writev_full(fd, iov, niov) < 0)
        goto fail;
    if (close(fd) < 0)
        return -1;
    return 0;
fail:;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

static void dump_shm(struct buf *b, int flags)
{
    int k = 0;
    struct shm_info info;
    int max = (int)syscall(SYS_shmctl, 0, SHM_INFO, &info);
    for (int i = 0; i <= max; i++) {
        struct shmid_ds d;
        int id = (int)syscall(SYS_shmctl, i, SHM_STAT_ANY, &d);
        if (id < 0)
            continue;
        int64_t a[14];
        a[0] = id;
        perm_args(a, &d.shm_perm);
        a[7] = (int64_t)d.shm_segsz;
        a[8] = d.shm_atime;
        a[9] = d.shm_dtime;
        a[10] = d.shm_ctime;
        a[11] = d.shm_cpid;
        a[12] = d.shm_lpid;
        a[13] = (int64_t)d.shm_nattch;
        if (flags & DUMP_NO_SHM_DATA) {
            record(b, R_SHM, 14, a, NULL, 0);
            continue;
        }
        /* The contents through a read-only attachment (side effect on the live segment: its
         * atime, dtime and lpid; the values recorded are those read before). */
        void *at = (void *)syscall(SYS_shmat, id, NULL, SHM_RDONLY);
        if (at == (void *)-1) {
            note(b, "shm %d: read-only attach: %s", id, strerror(errno));
            record(b, R_SHM, 14, a, NULL, 0);
            continue;
        }
        /* The header counts the contents; they follow it in the answer (send_dump). One
         * MADV_POPULATE_READ (Linux 5.14) maps the pages at once instead of a fault per page
         * when the pipe write reads them; where it is refused the faults happen as before. */
        madvise(at, d.shm_segsz, 22 /* MADV_POPULATE_READ */);
        if (flags & DUMP_SHM_TO_DIR) {
            struct buf runs = {0};
            int64_t a15[15];
            memcpy(a15, a, sizeof a);
            a15[14] = ++k;
            if (write_pages(at, d.shm_segsz, k, &runs) < 0) {
                *pages_failed = k; /* only a reader (op_dump's child) writes pages */
                _exit(100 + errno);
            }
            record(b, R_SHM, 15, a15, runs.p, runs.len);
            free(runs.p);
            continue; /* detached when the reader exits (see send_dump) */
        }
        put_u32(b, (uint32_t)(8 + 8 * 14 + d.shm_segsz));
        put_u32(b, R_SHM);
        put_u32(b, 14);
        put(b, a, sizeof a);
        if (nsegs == capsegs) {
            capsegs = capsegs ? 2 * capsegs : 64;
            if (!(segs = realloc(segs, sizeof *segs * (size_t)capsegs)))
                die("out of memory");
        }
        segs[nsegs].pos = b->len;
        segs[nsegs].at = at;
        segs[nsegs].n = d.shm_segsz;
        nsegs++;
    }
}

static int writev_full(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n > 1024 ? 1024 : n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Writes a dump's answer frame on `fd` (ret 0): the records, each segment's contents taken from
 * its attachment, which is then detached — unless `exiting`: a reader about to _exit leaves that
 * to exit_mmap, which detaches each the same way (shm_close: nattch, dtime, lpid) under one TLB
 * flush, not one per shmdt (each an IPI to the other CPUs this mm ran on: ~15 % of a dump's CPU).
 * The caller has flushed the buffered answers before. */
static int send_dump(int fd, struct buf *b, int exiting)
{
    size_t total = b->len;
    for (int i = 0; i < nsegs; i++)
        total += segs[i].n;
    char head[20] = {0};
    uint32_t len = (uint32_t)(16 + total);
    memcpy(head, &len, 4);
    struct iovec *iov = malloc(sizeof *iov * (size_t)(2 * nsegs + 2));
    if (!iov)
        die("out of memory");
    int n = 0;
    size_t from = 0;
    iov[n++] = (struct iovec){head, sizeof head};
    for (int i = 0; i < nsegs; i++) {
        if (segs[i].pos > from)
            iov[n++] = (struct iovec){b->p + from, segs[i].pos - from};
        iov[n++] = (struct iovec){segs[i].at, segs[i].n};
        from = segs[i].pos;
    }
    if (b->len > from)
        iov[n++] = (struct iovec){b->p + from, b->len - from};
    int r = total > 0xffffffefu ? (errno = E2BIG, -1) : writev_full(fd, iov, n);
    int e = errno;
    free(iov);
    for (int i = 0; i < nsegs && !exiting; i++)
        syscall(SYS_shmdt, segs[i].at);
    nsegs = 0;
    errno = e;
    return r;
}

/* The host pid of op_dump's child that entered the IPC namespace to fork the reader into its pid
 * namespace: a task of the agent's, not of the dumped namespaces (0 when dumping our own). */
static pid_t entering;

/* The tasks of the dumped namespaces (same IPC and pid namespace as `ipcns`/`pidns`), their pid
 * there (the last NSpid field) and their System V shm attachments (/proc/PID/maps: device 00:01
 * lines named /SYSV<key>, whose inode is the shmid). */
static void dump_tasks(struct buf *b, const struct stat *ipcns, const struct stat *pidns)
{
    nwaited = 0;
    sleep_all = 0;
    DIR *d = opendir("/proc");
    if (!d) {
        note(b, "cannot read /proc: %s", strerror(errno));
        sleep_all = 1;
        return;
    }
    struct dirent *e;
    char path[96], line[4096];
    /* Our host pid, as /proc (mounted in the host's pid namespace) names it. */
    char me[32];
    ssize_t ml = readlink("/proc/self", me, sizeof me - 1);
    long self = ml > 0 ? (me[ml] = 0, strtol(me, NULL, 10)) : 0;
    while ((e = readdir(d))) {
        char *end;
        long hostpid = strtol(e->d_name, &end, 10);
        if (*end || hostpid <= 0 || hostpid == entering)
            continue;
        struct stat st;
        snprintf(path, sizeof path, "/proc/%ld/ns/ipc", hostpid);
        if (stat(path, &st) < 0 || st.st_ino != ipcns->st_ino || st.st_dev != ipcns->st_dev)
            continue;
        /* Ourselves: a reader (op_dump's child) is not of the namespace; the agent dumping its
         * own is (pid 1, holding its attachments) but is running this, not asleep in semop. */
        if (hostpid == self && entering)
            continue;
        if (hostpid != self)
            sem_sleepers(hostpid);
        snprintf(path, sizeof path, "/proc/%ld/ns/pid", hostpid);
        if (stat(path, &st) < 0 || st.st_ino != pidns->st_ino || st.st_dev != pidns->st_dev) {
            note(b, "host pid %ld shares the IPC namespace from another pid namespace: not saved", hostpid);
            continue;
        }
        snprintf(path, sizeof path, "/proc/%ld/status", hostpid);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        long nspid = 0;
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "NSpid:", 6))
                continue;
            for (char *t = strtok(line + 6, " \t\n"); t; t = strtok(NULL, " \t\n"))
                nspid = strtol(t, NULL, 10);
        }
        fclose(f);
        snprintf(path, sizeof path, "/proc/%ld/maps", hostpid);
        f = fopen(path, "re");
        if (!f)
            continue;
        int64_t ta[2] = {nspid, hostpid};
        record(b, R_TASK, 2, ta, NULL, 0);
        while (fgets(line, sizeof line, f)) {
            unsigned long lo, hi, off, ino;
            char perms[8], dev[16];
            if (!strstr(line, "/SYSV") || sscanf(line, "%lx-%lx %7s %lx %15s %lu", &lo, &hi, perms, &off, dev, &ino) != 6)
                continue;
            int flg = (perms[1] == 'w' ? 0 : SHM_RDONLY) | (perms[2] == 'x' ? 0100000 /* SHM_EXEC */ : 0);
            int64_t aa[6] = {nspid, (int64_t)ino, (int64_t)lo, (int64_t)hi, (int64_t)off, flg};
            record(b, R_ATTACH, 6, aa, NULL, 0);
        }
        fclose(f);
    }
    closedir(d);
}

static void dump_here(struct buf *b, int flags)
{
    struct stat ipcns, pidns;
    dump_sysctls(b);
    /* The tasks first: before the segments, as reading a segment keeps it attached here until the
     * answer is written (send_dump), which must not show as an attachment of ours; before the
     * sets, whose sleepers they find (sem_sleepers). */
    if (stat("/proc/thread-self/ns/ipc", &ipcns) == 0 && stat("/proc/thread-self/ns/pid", &pidns) == 0)
        dump_tasks(b, &ipcns, &pidns);
    else
        sleep_all = 1;
    dump_msg(b);
    dump_sem(b);
    dump_shm(b, flags);
}

/* Set when an operation has written its own answer (a dump: send_dump). */
static int answered;

/* Dumps the IPC namespace of host pid `target`: a child enters its IPC namespace and (for the pids
 * the kernel reports) its pid namespace, whose children see pids as the target does. The answer
 * is written by whoever read the namespace, straight to our stdout (fd 1): no copy of the records
 * through this process. */
static long op_dump(pid_t target, int flags, const struct req *q, struct buf *out)
{
    static char dir[4096];
    if (flags & DUMP_SHM_TO_DIR) {
        /* Only a reader (a child, below) writes pages files: it exits on a failed write. */
        if (target == 0 || q->dlen == 0 || q->dlen >= sizeof dir || memchr(q->data, 0, q->dlen)) {
            errno = EINVAL;
            return -1;
        }
        memcpy(dir, q->data, q->dlen);
        dir[q->dlen] = 0;
        pages_dir = dir;
        if (!pages_failed) {
            void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
            if (m == MAP_FAILED)
                return -1;
            pages_failed = m;
        }
        *pages_failed = 0;
    }
    if (target == 0) {
        struct buf b = {0};
        dump_here(&b, flags);
        flush_out();
        if (send_dump(1, &b, 0) < 0)
            die("write dump");
        free(b.p);
        answered = 1;
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/ipc", target);
    int ipcfd = open(path, O_RDONLY | O_CLOEXEC);
    if (ipcfd < 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/ns/pid", target);
    int pidfd = open(path, O_RDONLY | O_CLOEXEC);
    if (pidfd < 0) {
        close(ipcfd);
        return -1;
    }
    flush_out(); /* the answers before this one go first */
    pid_t c = fork();
    if (c < 0)
        return -1;
    if (c == 0) {
        if (setns(ipcfd, CLONE_NEWIPC) < 0 || setns(pidfd, CLONE_NEWPID) < 0)
            _exit(100 + errno);
        entering = getpid(); /* still a pid of our pid namespace, as /proc shows it */
        pid_t g = fork();
        if (g < 0)
            _exit(100 + errno);
        if (g == 0) {
            struct buf b = {0};
            dump_here(&b, flags);
            _exit(send_dump(1, &b, 1) < 0 ? 99 : 0);
        }
        int st;
        waitpid(g, &st, 0);
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 98);
    }
    close(ipcfd);
    close(pidfd);
    int st;
    waitpid(c, &st, 0);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 98;
    if (code == 0) {
        answered = 1;
        return 0;
    }
    if (code <= 100) /* the answer may be half written: the stream cannot go on */
        die("dump: the reader failed while answering");
    if ((flags & DUMP_SHM_TO_DIR) && *pages_failed > 0) {
        /* The answer's data names the file that could not be written. */
        char name[32];
        put(out, name, (size_t)snprintf(name, sizeof name, "pages-%d.img", *pages_failed));
    }
    errno = code - 100;
    return -1;
}

/* ---- exec, check ---------------------------------------------------------------------------- */

static long op_exec(const struct req *q, struct buf *out)
{
    char *argv[256];
    int n = 0;
    for (size_t i = 0; i < q->dlen && n < 255; i += strlen(q->data + i) + 1)
        argv[n++] = q->data + i;
    argv[n] = NULL;
    if (n == 0 || q->data[q->dlen - 1] != 0) {
        errno = EINVAL;
        return -1;
    }
    int capture = (int)q->args[1], pfd[2] = {-1, -1};
    flush_out();
    if (capture && pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    pid_t c = fork();
    if (c < 0)
        return -1;
    if (c == 0) {
        if (capture) {
            dup2(pfd[1], 1);
            int nul = open("/dev/null", O_RDONLY);
            dup2(nul, 0);
        } else {
            /* fd 3 and 4 are Node's stdout and stdin, passed for the command. */
            if (fcntl(3, F_GETFD) >= 0)
                dup2(3, 1);
            if (fcntl(4, F_GETFD) >= 0)
                dup2(4, 0);
        }
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        fprintf(stderr, "nsd host: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (capture) {
        close(pfd[1]);
        char t[65536];
        ssize_t r;
        while ((r = read(pfd[0], t, sizeof t)) > 0 || (r < 0 && errno == EINTR))
            if (r > 0)
                put(out, t, (size_t)r);
        close(pfd[0]);
    }
    int st;
    while (waitpid(c, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return st;
}

static void check_line(struct buf *out, const char *name, int ok, const char *detail)
{
    char t[512];
    int n = snprintf(t, sizeof t, "%s %s %s\n", name, ok ? "yes" : "no", detail);
    put(out, t, (size_t)n);
}

/* What this kernel offers, each probed for real in a throw-away child and namespace. */
static long op_check(struct buf *out)
{
    char d[256];
    snprintf(d, sizeof d, "euid %d", (int)geteuid());
    check_line(out, "root", geteuid() == 0, d);
    int mfd = (int)syscall(SYS_memfd_create, "nsd-check", 1);
    pid_t c = fork();
    if (c == 0) {
        struct buf b = {0};
        char line[256];
        int n;
        /* clone3 with set_tid: pid 1 of a new pid namespace, then a child at pid 42 inside it. */
        pid_t p = clone3_at(CLONE_NEWPID | CLONE_NEWIPC, 1);
        if (p == 0) {
            pid_t q = clone3_at(0, 42);
            if (q == 0)
                _exit(0);
            int st = 0;
            if (q > 0)
                waitpid(q, &st, 0);
            _exit(q == 42 ? 0 : 2);
        }
        int st = 0;
        if (p > 0)
            waitpid(p, &st, 0);
        n = snprintf(line, sizeof line, "set_tid %s %s\n", p > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no",
                     p < 0 ? strerror(errno) : "clone3 CLONE_NEWPID|CLONE_NEWIPC set_tid {1}, then {42}");
        put(&b, line, (size_t)n);
        if (unshare(CLONE_NEWIPC) < 0) {
            n = snprintf(line, sizeof line, "unshare-ipc no %s\n", strerror(errno));
            put(&b, line, (size_t)n);
        } else {
            const char *names[] = {"msg_next_id", "sem_next_id", "shm_next_id"};
            for (int i = 0; i < 3; i++) {
                char path[64];
                snprintf(path, sizeof path, "/proc/sys/kernel/%s", names[i]);
                int ok = write_file(path, "77", 2) == 0;
                n = snprintf(line, sizeof line, "%s %s %s\n", names[i], ok ? "yes" : "no", ok ? "writable" : strerror(errno));
                put(&b, line, (size_t)n);
            }
            int q = (int)syscall(SYS_msgget, IPC_PRIVATE, 0600);
            struct {
                long t;
                char c[4];
            } m = {1, "abc"};
            syscall(SYS_msgsnd, q, &m, 4, 0);
            long r = syscall(SYS_msgrcv, q, &m, 4, 0L, IPC_NOWAIT | MSG_COPY);
            n = snprintf(line, sizeof line, "MSG_COPY %s %s\n", r == 4 ? "yes" : "no",
                         r == 4 ? "copied without dequeuing" : strerror(errno));
            put(&b, line, (size_t)n);
            struct msqid_ds ds;
            r = syscall(SYS_msgctl, q % 32768, MSG_STAT_ANY, &ds);
            n = snprintf(line, sizeof line, "STAT_ANY %s %s\n", r == q ? "yes" : "no",
                         r == q ? "MSG_STAT_ANY/SEM_STAT_ANY/SHM_STAT_ANY" : strerror(errno));
            put(&b, line, (size_t)n);
        }
        _exit(write_full(mfd, b.p, b.len) < 0);
    }
    int st;
    waitpid(c, &st, 0);
    struct stat ms;
    fstat(mfd, &ms);
    need(out, (size_t)ms.st_size);
    if (pread(mfd, out->p + out->len, (size_t)ms.st_size, 0) == ms.st_size)
        out->len += (size_t)ms.st_size;
    close(mfd);
    return 0;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static int is_agent = 1;
/* This process's pid as its own namespace sees it (1 for an 'ns' agent's init). */
static pid_t self;
/* The agent's own attachments (SHM_DEST segments it holds). */
static long kept[MAX_TASKS];
static int nkept;

/* OP_GET (args as its frame's) with its data, if any: a follow-up on the new object, one frame
 * instead of two — a queue's messages (OP_MSGSNDV's data, IPC_NOWAIT), a set's values
 * (OP_SETALL's). On the follow-up's failure -1 (errno), the object left created. */
static long get_with(const int64_t *a, const char *data, size_t dlen)
{
    long id = op_get(a);
    if (id < 0 || dlen == 0)
        return id;
    long r;
    if (a[1] == 1) {
        /* In the agent, by the background threads (OP_SYNC reports their failures); in a holder,
         * or without a thread, here. */
        if (is_agent && bg_push(JOB_MSG, (int)id, data, dlen) == 0)
            return id;
        r = msgsndv((int)id, data, dlen, IPC_NOWAIT);
    } else if (a[1] == 2) {
        /* SETALL reads nsems values: no fewer may be given (the kernel would read past them). */
        if (dlen < 2 * (size_t)a[3]) {
            errno = EINVAL;
            return -1;
        }
        r = syscall(SYS_semctl, (int)id, 0, SETALL, data);
    } else {
        errno = EINVAL;
        r = -1;
    }
    return r < 0 ? -1 : id;
}

static long dispatch(const struct req *q, struct buf *out)
{
    const int64_t *a = q->args;
    switch (q->op) {
    case OP_PING:
        return getpid();
    case OP_SYSCTL_W: {
        size_t pl = strnlen(q->data, q->dlen);
        if (pl >= q->dlen || pl > 100 || strstr(q->data, "..")) {
            errno = EINVAL;
            return -1;
        }
        char path[128];
        snprintf(path, sizeof path, "/proc/sys/%s", q->data);
        return write_file(path, q->data + pl + 1, q->dlen - pl - 1);
    }
    case OP_GET:
        return get_with(a, q->data, q->dlen);
    case OP_GETV: {
        const char *p = q->data, *end = q->data + q->dlen;
        uint32_t i = 0;
        for (; i < (uint32_t)a[2]; i++) {
            int64_t row[8] = {0, a[1]};
            uint32_t how, dlen;
            if ((size_t)(end - p) < 6 * 8 + 8) {
                errno = EINVAL;
                break;
            }
            memcpy(&row[2], p, 6 * 8);
            memcpy(&how, p + 6 * 8, 4);
            memcpy(&dlen, p + 6 * 8 + 4, 4);
            p += 6 * 8 + 8;
            if ((size_t)(end - p) < dlen || how > 1 || (how == 1 && (a[1] != 2 || dlen < 2 * (size_t)row[3]))) {
                errno = EINVAL;
                break;
            }
            int64_t id = get_with(row, p, how == 0 ? dlen : 0);
            for (int64_t k = 0; id >= 0 && how == 1 && k < row[3]; k++) {
                uint16_t v;
                memcpy(&v, p + 2 * k, 2);
                if (v != 0 && syscall(SYS_semctl, (int)id, (int)k, SETVAL, (long)v) < 0)
                    id = -1;
            }
            if (id < 0)
                break;
            put(out, &id, sizeof id);
            p += dlen;
        }
        if (i == (uint32_t)a[2] && p == end)
            return (long)i;
        if (i == (uint32_t)a[2])
            errno = EINVAL; /* bytes after the last row */
        return -1;
    }
    case OP_MSGSND:
        return op_msgsnd(q);
    case OP_MSGSNDV:
        return op_msgsndv(q);
    case OP_SETALL:
        return syscall(SYS_semctl, (int)a[1], 0, SETALL, q->data);
    case OP_SETVAL:
        return syscall(SYS_semctl, (int)a[1], (int)a[2], SETVAL, (long)a[3]);
    case OP_SEMOP: {
        struct sembuf s = {(unsigned short)a[2], (short)a[3], (short)a[4]};
        return syscall(SYS_semop, (int)a[1], &s, 1);
    }
    case OP_SEMOPV: {
        /* Copied out of the frame: struct sembuf wants 2-byte alignment. */
        struct sembuf s[512];
        size_t n = q->dlen / 6;
        if (q->dlen % 6 || n == 0 || n > 512) {
            errno = EINVAL;
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            memcpy(&s[i].sem_num, q->data + 6 * i, 2);
            memcpy(&s[i].sem_op, q->data + 6 * i + 2, 2);
            memcpy(&s[i].sem_flg, q->data + 6 * i + 4, 2);
        }
        return syscall(SYS_semop, (int)a[1], s, n);
    }
    case OP_SHMWRITE:
        return op_shmwrite(q);
    case OP_SHMFILE: {
        /* A background job of the agent's; its result comes with OP_SYNC's answer (done here, and
         * kept for it, when no thread can be had). A holder has no background threads. */
        if (!is_agent) {
            errno = EINVAL;
            return -1;
        }
        if (bg_push(JOB_SHMFILE, (int)a[1], q->data, q->dlen) == 0)
            return 0;
        unsigned char md[32];
        long r = shmfile((int)a[1], q->data, q->dlen, md);
        if (r < 0)
            return -1;
        int64_t rec[2] = {a[1], r};
        pthread_mutex_lock(&bg.mu);
        put(&bg.results, rec, sizeof rec);
        put(&bg.results, md, sizeof md);
        pthread_mutex_unlock(&bg.mu);
        return 0;
    }
    case OP_SYNC: {
        int64_t fail[2];
        if (bg_wait(&fail[0], &fail[1], out) == 0)
            return 0;
        int e = errno;
        put(out, fail, sizeof fail);
        errno = e;
        return -1;
    }
    case OP_SHMAT: {
        long r = syscall(SYS_shmat, (int)a[1], (void *)(uintptr_t)a[2], (int)a[3]);
        if (r != -1 && is_agent && nkept < MAX_TASKS)
            kept[nkept++] = r; /* detached by OP_RESET */
        return r;
    }
    case OP_SHMDT:
        return syscall(SYS_shmdt, (void *)(uintptr_t)a[1]);
    case OP_SHMTOUCHV: {
        if (q->dlen % 8) {
            errno = EINVAL;
            return -1;
        }
        for (uint32_t i = 0; i < q->dlen / 8; i++) {
            int64_t id;
            memcpy(&id, q->data + 8 * i, 8);
            void *at = (void *)syscall(SYS_shmat, (int)id, NULL, SHM_RDONLY);
            if (at == (void *)-1 || syscall(SYS_shmdt, at) < 0) {
                int e = errno;
                put(out, &i, sizeof i);
                errno = e;
                return -1;
            }
        }
        return (long)(q->dlen / 8);
    }
    case OP_MSGRCV: {
        struct {
            long mtype;
            char text[8];
        } m;
        return syscall(SYS_msgrcv, (int)a[1], &m, sizeof m.text, (long)a[2], (int)a[3]);
    }
    case OP_CTL:
        return op_ctl(a);
    case OP_SET:
        return op_set(a);
    }
    if (!is_agent) {
        errno = ENOTSUP;
        return -1;
    }
    switch (q->op) {
    case OP_TASK:
        return op_task((pid_t)a[1]);
    case OP_KILL:
        return op_kill((pid_t)a[1]);
    case OP_DUMP:
        return op_dump((pid_t)a[1], (int)a[2], q, out);
    case OP_EXEC:
        return op_exec(q, out);
    case OP_CHECK:
        return op_check(out);
    case OP_RESET:
        bg_end();
        while (ntasks > 0)
            op_kill(tasks[0].pid);
        while (nkept > 0)
            syscall(SYS_shmdt, (void *)kept[--nkept]);
        for (int i = 1; i < 4; i++) {
            if (next_id_fd[i] >= 0)
                close(next_id_fd[i]);
            next_id_fd[i] = -1;
        }
        return unshare(CLONE_NEWIPC);
    }
    errno = ENOSYS;
    return -1;
}

/* Runs one request here or in the holder task it names, and answers on `fd`. */
static void serve(int fd, struct req *q, struct buf *out)
{
    out->len = 0;
    int forward = is_agent && q->nargs > 0 && q->args[0] != 0 && q->args[0] != self;
    /* A failure of the background threads is OP_SYNC's to report (a plan has one after its
     * queues and segments): an operation that waits here runs as usual. */
    if (is_agent && bg.started && q->op != OP_SYNC && (forward || !bg_compatible(q)))
        bg_idle();
    if (forward) {
        int tfd = task_fd((pid_t)q->args[0]);
        if (tfd < 0) {
            write_resp(fd, -1, ESRCH, NULL, 0);
            return;
        }
        uint32_t len = q->rawlen, rlen;
        if (write_full(tfd, &len, 4) < 0 || write_full(tfd, q->raw, len) < 0 || read_full(tfd, &rlen, 4) < 0) {
            write_resp(fd, -1, EPIPE, NULL, 0);
            return;
        }
        need(out, rlen + 4);
        memcpy(out->p, &rlen, 4);
        if (read_full(tfd, out->p + 4, rlen) < 0)
            die("holder task answer");
        if (fd == 1)
            put(&outbuf, out->p, rlen + 4);
        else if (write_full(fd, out->p, rlen + 4) < 0)
            die("write response");
        return;
    }
    errno = 0;
    answered = 0;
    long r = dispatch(q, out);
    if (!answered)
        write_resp(fd, r, r == -1 ? errno : 0, out->p, out->len);
}

static void holder_loop(int fd)
{
    struct req q = {0};
    struct buf out = {0};
    is_agent = 0;
    ntasks = 0;
    while (read_req(fd, &q) == 0)
        serve(fd, &q, &out);
}

static volatile sig_atomic_t child_exited;
static void on_sigchld(int sig)
{
    (void)sig;
    child_exited = 1;
}

static void on_term(int sig)
{
    (void)sig;
    _exit(0);
}

static void agent_loop(void)
{
    self = getpid();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    /* As a pid namespace's init, a signal without a handler would be ignored: `kill PID` (from
     * outside) must end the namespaces. */
    sa.sa_handler = on_term;
    sa.sa_flags = 0;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    struct req q = {0};
    struct buf out = {0};
    while (read_req(0, &q) == 0) {
        if (q.op == OP_HOLD) {
            write_resp(1, 0, 0, NULL, 0);
            flush_out();
            /* Detach: the namespaces live as long as this init (kill it to end them). */
            int nul = open("/dev/null", O_RDWR);
            dup2(nul, 0);
            dup2(nul, 1);
            for (int fd = 3; fd < 5; fd++)
                close(fd);
            for (;;) {
                if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD)
                    pause();
            }
        }
        serve(1, &q, &out);
        /* As init, reap orphans (exited commands' children) without blocking, once a child
         * has exited (not a wait4 per request). */
        if (child_exited) {
            child_exited = 0;
            while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
        }
    }
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    /* 1 MiB pipes (the default /proc/sys/fs/pipe-max-size) where stdin/stdout are pipes: a dump's
     * megabytes and a restore's batch cross in a few wake-ups instead of one per 64 KiB. Refused
     * (not a pipe, or above the limit for a user): the default size works the same, slower. */
    fcntl(0, F_SETPIPE_SZ, 1 << 20);
    fcntl(1, F_SETPIPE_SZ, 1 << 20);
    crypto_load();
    if (argc > 1 && strcmp(argv[1], "ns") == 0) {
        pid_t p = clone3_at(CLONE_NEWPID | CLONE_NEWIPC, 1);
        if (p < 0)
            p = clone3_at(CLONE_NEWPID | CLONE_NEWIPC, 0); /* set_tid needs CAP_CHECKPOINT_RESTORE */
        if (p < 0)
            die("clone3 CLONE_NEWPID|CLONE_NEWIPC");
        if (p == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            agent_loop();
            _exit(0);
        }
        /* hello: the init's host pid and what this agent can do, then wait for it. */
        const char *hello = crypto.ok ? "ns sha256" : "ns";
        write_resp(1, p, 0, hello, strlen(hello));
        flush_out();
        close(0);
        close(1);
        int st;
        while (waitpid(p, &st, 0) < 0)
            if (errno != EINTR)
                return 1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    const char *hello = crypto.ok ? "plain sha256" : "plain";
    write_resp(1, getpid(), 0, hello, strlen(hello));
    flush_out();
    agent_loop();
    return 0;
}
