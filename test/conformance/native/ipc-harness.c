/*
 * ipc-harness: runs a script of SysV IPC operations against the real Linux kernel.
 *
 * Reads the script from stdin, one operation per line, and prints one result line per operation
 * on stdout. The script grammar and the result format are specified in test/conformance/README.md;
 * test/conformance/script.ts and results.ts implement the same grammar on the TypeScript side.
 *
 * Every IPC call is made with syscall(2), never through the glibc wrappers, so that commands and
 * arguments glibc would reject or rewrite reach the kernel unchanged. The structures used are
 * glibc's, which on x86_64 have the exact layout of the kernel's *64_ds / ipc64_perm structures.
 *
 * Run it in a fresh IPC namespace (`unshare --ipc ipc-harness < script`): ids and sysctls are
 * per-namespace, so a fresh namespace gives reproducible ids.
 *
 * Exit status: 0 when every line was understood, 2 when at least one line was a script error
 * (printed as a `!` result), 1 on an internal failure (e.g. out of memory).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
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
#ifndef SHM_REMAP
#define SHM_REMAP 040000
#endif
#ifndef SHM_EXEC
#define SHM_EXEC 0100000
#endif

#define MAX_OPS 16384
#define MAX_TOKENS 64
#define MAX_BODY (1L << 20)    /* largest body, msgrcv size or read length a script may use */
#define MAX_SEMS 65536         /* semaphores a GETALL/SETALL buffer can hold */
#define MAX_SOPS 65536         /* sembufs a semop may pass */
#define GUARD_USEC 100000      /* a call still asleep after this long is interrupted */

/* Fixed addresses in scripts are offsets into this window ("+0x2000"). It lies far below the
 * top-down mmap area, so the kernel never picks an address inside it for shmat(…, 0, …). */
#define WINDOW_BASE 0x200000000000UL
#define WINDOW_SIZE (1UL << 32)

/* ------------------------------------------------------------------------------------------ */
/* Names                                                                                      */

struct name {
    const char *name;
    long long value;
};

/* Flags, commands and keys accepted by name. Commands share values across msg/sem/shm; the
 * call decides what the number means. */
static const struct name NAMES[] = {
    {"IPC_PRIVATE", IPC_PRIVATE},
    {"IPC_CREAT", IPC_CREAT},
    {"IPC_EXCL", IPC_EXCL},
    {"IPC_NOWAIT", IPC_NOWAIT},
    {"IPC_RMID", IPC_RMID},
    {"IPC_SET", IPC_SET},
    {"IPC_STAT", IPC_STAT},
    {"IPC_INFO", IPC_INFO},
    {"MSG_NOERROR", MSG_NOERROR},
    {"MSG_EXCEPT", MSG_EXCEPT},
    {"MSG_COPY", MSG_COPY},
    {"MSG_STAT", MSG_STAT},
    {"MSG_INFO", MSG_INFO},
    {"MSG_STAT_ANY", MSG_STAT_ANY},
    {"SEM_UNDO", SEM_UNDO},
    {"GETPID", GETPID},
    {"GETVAL", GETVAL},
    {"GETALL", GETALL},
    {"GETNCNT", GETNCNT},
    {"GETZCNT", GETZCNT},
    {"SETVAL", SETVAL},
    {"SETALL", SETALL},
    {"SEM_STAT", SEM_STAT},
    {"SEM_INFO", SEM_INFO},
    {"SEM_STAT_ANY", SEM_STAT_ANY},
    {"SHM_RDONLY", SHM_RDONLY},
    {"SHM_RND", SHM_RND},
    {"SHM_REMAP", SHM_REMAP},
    {"SHM_EXEC", SHM_EXEC},
    {"SHM_HUGETLB", SHM_HUGETLB},
    {"SHM_NORESERVE", SHM_NORESERVE},
    {"SHM_LOCK", SHM_LOCK},
    {"SHM_UNLOCK", SHM_UNLOCK},
    {"SHM_STAT", SHM_STAT},
    {"SHM_INFO", SHM_INFO},
    {"SHM_STAT_ANY", SHM_STAT_ANY},
    {"SHM_DEST", 01000},
    {"SHM_LOCKED", 02000},
    {NULL, 0},
};

struct errname {
    int no;
    const char *name;
};

static const struct errname ERRNAMES[] = {
    {EPERM, "EPERM"},     {ENOENT, "ENOENT"},   {ESRCH, "ESRCH"},     {EINTR, "EINTR"},
    {EIO, "EIO"},         {ENXIO, "ENXIO"},     {E2BIG, "E2BIG"},     {ENOEXEC, "ENOEXEC"},
    {EBADF, "EBADF"},     {ECHILD, "ECHILD"},   {EAGAIN, "EAGAIN"},   {ENOMEM, "ENOMEM"},
    {EACCES, "EACCES"},   {EFAULT, "EFAULT"},   {EBUSY, "EBUSY"},     {EEXIST, "EEXIST"},
    {EXDEV, "EXDEV"},     {ENODEV, "ENODEV"},   {ENOTDIR, "ENOTDIR"}, {EISDIR, "EISDIR"},
    {EINVAL, "EINVAL"},   {ENFILE, "ENFILE"},   {EMFILE, "EMFILE"},   {ENOTTY, "ENOTTY"},
    {EFBIG, "EFBIG"},     {ENOSPC, "ENOSPC"},   {ESPIPE, "ESPIPE"},   {EROFS, "EROFS"},
    {EMLINK, "EMLINK"},   {EPIPE, "EPIPE"},     {EDOM, "EDOM"},       {ERANGE, "ERANGE"},
    {EDEADLK, "EDEADLK"}, {ENOSYS, "ENOSYS"},   {ENOMSG, "ENOMSG"},   {EIDRM, "EIDRM"},
    {EOVERFLOW, "EOVERFLOW"}, {EOPNOTSUPP, "EOPNOTSUPP"}, {ENAMETOOLONG, "ENAMETOOLONG"},
    {0, NULL},
};

/* ------------------------------------------------------------------------------------------ */
/* Output of one result line                                                                  */

static char obsbuf[4 * MAX_BODY + 65536];
static size_t obslen;
static char errmsg[512];

static void obs(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void obs(const char *fmt, ...)
{
    va_list ap;
    if (obslen + 2 >= sizeof obsbuf)
        return;
    obsbuf[obslen++] = ' ';
    va_start(ap, fmt);
    int n = vsnprintf(obsbuf + obslen, sizeof obsbuf - obslen, fmt, ap);
    va_end(ap);
    if (n > 0)
        obslen += (size_t)n < sizeof obsbuf - obslen ? (size_t)n : sizeof obsbuf - obslen - 1;
}

/* Bytes are printed as "…": printable ASCII except space, '"' and '\' as is, others as \xHH. */
static void obs_bytes(const char *key, const unsigned char *p, long len)
{
    static char tmp[4 * MAX_BODY + 16];
    size_t k = 0;
    for (long i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (c > 0x20 && c < 0x7f && c != '"' && c != '\\') {
            tmp[k++] = (char)c;
        } else {
            k += (size_t)snprintf(tmp + k, 5, "\\x%02x", c);
        }
    }
    tmp[k] = 0;
    obs("%s=\"%s\"", key, tmp);
}

static int script_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int script_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    for (char *c = errmsg; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    return -1;
}

static const char *errno_name(int e)
{
    static char buf[32];
    for (const struct errname *n = ERRNAMES; n->name; n++)
        if (n->no == e)
            return n->name;
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* References                                                                                 */

struct ref {
    int valid;          /* the op succeeded and has a value */
    long long value;    /* its return value (for shmat: the real address) */
    char name[64];      /* "" when unnamed */
};

static struct ref refs[MAX_OPS];
static int nops;

static int find_named(const char *name, size_t len)
{
    for (int i = nops - 1; i >= 0; i--)
        if (strlen(refs[i].name) == len && memcmp(refs[i].name, name, len) == 0)
            return i;
    return -1;
}

/* ------------------------------------------------------------------------------------------ */
/* Value parsing                                                                              */

static int parse_number(const char *s, long long *out)
{
    char *end;
    if (!*s)
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno == ERANGE && s[0] != '-') {
        errno = 0;
        v = (long long)strtoull(s, &end, 0);
    }
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* One term: a reference ($N or $name, optionally +N or -N), a name, or a number. */
static int parse_term(const char *s, long long *out)
{
    if (s[0] == '$') {
        const char *p = s + 1;
        size_t len = 0;
        while (isalnum((unsigned char)p[len]) || p[len] == '_')
            len++;
        if (len == 0)
            return script_error("bad reference '%s'", s);
        int idx;
        if (isdigit((unsigned char)p[0])) {
            char *end;
            long v = strtol(p, &end, 10);
            if ((size_t)(end - p) != len || v < 0 || v >= nops)
                return script_error("reference '%s' is not an earlier op", s);
            idx = (int)v;
        } else {
            idx = find_named(p, len);
            if (idx < 0)
                return script_error("unknown reference '%s'", s);
        }
        if (!refs[idx].valid)
            return script_error("reference '%s' is to op %d, which failed", s, idx);
        long long off = 0;
        const char *rest = p + len;
        if (*rest) {
            if ((rest[0] != '+' && rest[0] != '-') || parse_number(rest + 1, &off) != 0)
                return script_error("bad offset in '%s'", s);
            if (rest[0] == '-')
                off = -off;
        }
        *out = refs[idx].value + off;
        return 0;
    }
    for (const struct name *n = NAMES; n->name; n++)
        if (strcmp(n->name, s) == 0) {
            *out = n->value;
            return 0;
        }
    if (parse_number(s, out) != 0)
        return script_error("bad value '%s'", s);
    return 0;
}

/* A value: terms joined by '|', or-ed together. */
static int parse_value(const char *s, long long *out)
{
    char buf[256];
    long long acc = 0;
    if (strlen(s) >= sizeof buf)
        return script_error("value too long");
    strcpy(buf, s);
    char *save = NULL;
    int terms = 0;
    for (char *t = strtok_r(buf, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
        long long v;
        if (parse_term(t, &v) != 0)
            return -1;
        acc |= v;
        terms++;
    }
    if (terms == 0)
        return script_error("empty value");
    *out = acc;
    return 0;
}

/* An address: "+OFF" is WINDOW_BASE + OFF; anything else is a value ($ref holds a real address). */
static int parse_addr(const char *s, unsigned long *out)
{
    long long v;
    if (s[0] == '+') {
        if (parse_number(s + 1, &v) != 0 || v < 0)
            return script_error("bad window offset '%s'", s);
        *out = WINDOW_BASE + (unsigned long)v;
        return 0;
    }
    if (parse_value(s, &v) != 0)
        return -1;
    *out = (unsigned long)v;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A body: "text" (escapes \xHH \\ \") or a size N (N >= 0: N bytes 'a'+i%26; N < 0: no bytes, and
 * the size passed to the kernel is (size_t)N). Returns the byte count in *len and the size for
 * the kernel in *size. */
static int parse_body(const char *s, unsigned char **buf, long *len, long long *size)
{
    if (s[0] == '"') {
        size_t n = strlen(s);
        if (n < 2 || s[n - 1] != '"')
            return script_error("unterminated text %s", s);
        unsigned char *b = malloc(n + 1);
        if (!b)
            exit(1);
        long k = 0;
        for (size_t i = 1; i + 1 < n; i++) {
            if (s[i] != '\\') {
                b[k++] = (unsigned char)s[i];
                continue;
            }
            if (i + 2 < n && (s[i + 1] == '\\' || s[i + 1] == '"')) {
                b[k++] = (unsigned char)s[++i];
            } else if (i + 4 < n && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 &&
                       hexval(s[i + 3]) >= 0) {
                b[k++] = (unsigned char)(hexval(s[i + 2]) * 16 + hexval(s[i + 3]));
                i += 3;
            } else {
                free(b);
                return script_error("bad escape in %s", s);
            }
        }
        *buf = b;
        *len = k;
        *size = k;
        return 0;
    }
    long long n;
    if (parse_value(s, &n) != 0)
        return -1;
    if (n > MAX_BODY)
        return script_error("body size %lld is larger than the harness allows", n);
    long cnt = n > 0 ? (long)n : 0;
    unsigned char *b = malloc((size_t)cnt + 1);
    if (!b)
        exit(1);
    for (long i = 0; i < cnt; i++)
        b[i] = (unsigned char)('a' + i % 26);
    *buf = b;
    *len = cnt;
    *size = n;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Sleep guard and fault catcher                                                              */

static volatile sig_atomic_t guard_fired;
static sigjmp_buf fault_jb;
static volatile sig_atomic_t fault_armed;

static void on_alarm(int sig)
{
    (void)sig;
    guard_fired = 1;
}

static void on_fault(int sig)
{
    if (fault_armed) {
        fault_armed = 0;
        siglongjmp(fault_jb, 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void guard_on(void)
{
    struct itimerval it = {{0, 0}, {0, GUARD_USEC}};
    guard_fired = 0;
    setitimer(ITIMER_REAL, &it, NULL);
}

/* Stops the timer; returns the errno to report, noting an interrupted sleep. */
static void guard_off(long long r, int *err)
{
    struct itimerval it = {{0, 0}, {0, 0}};
    int e = errno;
    setitimer(ITIMER_REAL, &it, NULL);
    if (r == -1) {
        *err = e;
        if (e == EINTR && guard_fired)
            obs("blocked=1");
    }
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: the sleeping call returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = on_fault;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Observation printers                                                                       */

static void obs_perm(const char *p, const struct ipc_perm *pm)
{
    obs("%s.key=0x%08x %s.uid=%u %s.gid=%u %s.cuid=%u %s.cgid=%u %s.mode=0o%o %s.seq=%u", p,
        (unsigned)pm->__key, p, (unsigned)pm->uid, p, (unsigned)pm->gid, p, (unsigned)pm->cuid, p,
        (unsigned)pm->cgid, p, (unsigned)pm->mode, p, (unsigned)pm->__seq);
}

static void obs_msqid(const struct msqid_ds *d)
{
    obs_perm("msg_perm", &d->msg_perm);
    obs("msg_stime=%lld msg_rtime=%lld msg_ctime=%lld msg_cbytes=%lu msg_qnum=%lu msg_qbytes=%lu "
        "msg_lspid=%d msg_lrpid=%d",
        (long long)d->msg_stime, (long long)d->msg_rtime, (long long)d->msg_ctime,
        (unsigned long)d->__msg_cbytes, (unsigned long)d->msg_qnum, (unsigned long)d->msg_qbytes,
        (int)d->msg_lspid, (int)d->msg_lrpid);
}

static void obs_semid(const struct semid_ds *d)
{
    obs_perm("sem_perm", &d->sem_perm);
    obs("sem_otime=%lld sem_ctime=%lld sem_nsems=%lu", (long long)d->sem_otime,
        (long long)d->sem_ctime, (unsigned long)d->sem_nsems);
}

static void obs_shmid(const struct shmid_ds *d)
{
    obs_perm("shm_perm", &d->shm_perm);
    obs("shm_segsz=%lu shm_atime=%lld shm_dtime=%lld shm_ctime=%lld shm_cpid=%d shm_lpid=%d "
        "shm_nattch=%lu",
        (unsigned long)d->shm_segsz, (long long)d->shm_atime, (long long)d->shm_dtime,
        (long long)d->shm_ctime, (int)d->shm_cpid, (int)d->shm_lpid,
        (unsigned long)d->shm_nattch);
}

/* Big enough and aligned for every *_ds / *info structure. */
union ctlbuf {
    struct msqid_ds msq;
    struct semid_ds sem;
    struct shmid_ds shm;
    struct msginfo msginfo;
    struct seminfo seminfo;
    struct shminfo shminfo;
    struct shm_info shm_info;
    char pad[512];
};

static int parse_set_fields(int ntok, char **tok, int first, int count, long long *v)
{
    if (ntok != first + count)
        return script_error("IPC_SET needs %d fields", count);
    for (int i = 0; i < count; i++)
        if (parse_value(tok[first + i], &v[i]) != 0)
            return -1;
    return 0;
}

static int no_extra(int ntok, int want, const char *usage)
{
    if (ntok != want)
        return script_error("usage: %s", usage);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Operations. Each returns 0 when the call was made (*ret = its result, *err = errno when      */
/* *ret == -1), or -1 for a script error. *ref is the value later references see.              */

typedef int op_fn(int ntok, char **tok, long long *ret, int *err, long long *ref);

static int op_msgget(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    long long key, flg;
    (void)ref;
    if (no_extra(ntok, 3, "msgget KEY FLAGS") || parse_value(tok[1], &key) ||
        parse_value(tok[2], &flg))
        return -1;
    *ret = syscall(SYS_msgget, (int)key, (int)flg);
    *err = errno;
    return 0;
}

static int op_msgsnd(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    long long id, mtype, flg, size;
    unsigned char *body;
    long len;
    (void)ref;
    if (no_extra(ntok, 5, "msgsnd QID MTYPE BODY FLAGS") || parse_value(tok[1], &id) ||
        parse_value(tok[2], &mtype) || parse_value(tok[4], &flg) ||
        parse_body(tok[3], &body, &len, &size))
        return -1;
    struct {
        long mtype;
        unsigned char mtext[];
    } *m = malloc(sizeof(long) + (size_t)len + 1);
    if (!m)
        exit(1);
    m->mtype = (long)mtype;
    memcpy(m->mtext, body, (size_t)len);
    free(body);
    guard_on();
    *ret = syscall(SYS_msgsnd, (int)id, m, (size_t)size, (int)flg);
    guard_off(*ret, err);
    free(m);
    return 0;
}

static int op_msgrcv(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    long long id, size, typ, flg;
    (void)ref;
    if (no_extra(ntok, 5, "msgrcv QID SIZE TYP FLAGS") || parse_value(tok[1], &id) ||
        parse_value(tok[2], &size) || parse_value(tok[3], &typ) || parse_value(tok[4], &flg))
        return -1;
    if (size > MAX_BODY)
        return script_error("size %lld is larger than the harness allows", size);
    size_t cap = size > 0 ? (size_t)size : 0;
    struct {
        long mtype;
        unsigned char mtext[];
    } *m = calloc(1, sizeof(long) + cap + 1);
    if (!m)
        exit(1);
    guard_on();
    *ret = syscall(SYS_msgrcv, (int)id, m, (size_t)size, (long)typ, (int)flg);
    guard_off(*ret, err);
    if (*ret >= 0) {
        obs("mtype=%ld", m->mtype);
        obs_bytes("mtext", m->mtext, (long)*ret);
    }
    free(m);
    return 0;
}

static int op_msgctl(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    long long id, cmd, f[4];
    union ctlbuf b;
    (void)ref;
    if (ntok < 3 || parse_value(tok[1], &id) || parse_value(tok[2], &cmd))
        return ntok < 3 ? script_error("usage: msgctl QID CMD [uid gid mode qbytes]") : -1;
    memset(&b, 0, sizeof b);
    if (cmd == IPC_SET) {
        if (parse_set_fields(ntok, tok, 3, 4, f))
            return -1;
        b.msq.msg_perm.uid = (uid_t)f[0];
        b.msq.msg_perm.gid = (gid_t)f[1];
        b.msq.msg_perm.mode = (mode_t)f[2];
        b.msq.msg_qbytes = (msglen_t)f[3];
    } else if (no_extra(ntok, 3, "msgctl QID CMD")) {
        return -1;
    }
    *ret = syscall(SYS_msgctl, (int)id, (int)cmd, &b);
    *err = errno;
    if (*ret < 0)
        return 0;
    if (cmd == IPC_STAT || cmd == MSG_STAT || cmd == MSG_STAT_ANY)
        obs_msqid(&b.msq);
    else if (cmd == IPC_INFO || cmd == MSG_INFO)
        obs("msgpool=%d msgmap=%d msgmax=%d msgmnb=%d msgmni=%d msgssz=%d msgtql=%d msgseg=%u",
            b.msginfo.msgpool, b.msginfo.msgmap, b.msginfo.msgmax, b.msginfo.msgmnb,
            b.msginfo.msgmni, b.msginfo.msgssz, b.msginfo.msgtql, b.msginfo.msgseg);
    return 0;
}

static int op_semget(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    long long key, nsems, flg;
    (void)ref;
    if (no_extra(ntok, 4, "semget KEY NSEMS FLAGS") || parse_value(tok[1], &key) ||
        parse_value(tok[2], &nsems) || parse_value(tok[3], &flg))
        return -1;
    *ret = syscall(SYS_semget, (int)key, (int)nsems, (int)flg);
    *err = errno;
    return 0;
}

static struct sembuf sops[MAX_SOPS];

/* SOPS: "-" (no operations) or comma-separated NUM:OP:FLAGS items, each optionally *COUNT. */
static int parse_sops(const char *s, size_t *n)
{
    char buf[4096];
    *n = 0;
    if (strcmp(s, "-") == 0)
        return 0;
    if (strlen(s) >= sizeof buf)
        return script_error("operation list too long");
    strcpy(buf, s);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        long long count = 1, num, op, flg;
        char *star = strchr(item, '*');
        if (star) {
            *star = 0;
            if (parse_number(star + 1, &count) != 0 || count < 1)
                return script_error("bad repeat count in '%s'", s);
        }
        char *c1 = strchr(item, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c1 || !c2)
            return script_error("bad operation '%s' (want NUM:OP:FLAGS)", item);
        *c1 = 0;
        *c2 = 0;
        if (parse_value(item, &num) || parse_value(c1 + 1, &op) || parse_value(c2 + 1, &flg))
            return -1;
        for (long long i = 0; i < count; i++) {
            if (*n >= MAX_SOPS)
                return script_error("too many operations");
            sops[*n].sem_num = (unsigned short)num;
            sops[*n].sem_op = (short)op;
            sops[*n].sem_flg = (short)flg;
            (*n)++;
        }
    }
    return 0;
}

static int op_semop(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    long long id;
    size_t n;
    (void)ref;
    if (no_extra(ntok, 3, "semop SID SOPS") || parse_value(tok[1], &id) || parse_sops(tok[2], &n))
        return -1;
    guard_on();
    *ret = syscall(SYS_semop, (int)id, sops, n);
    guard_off(*ret, err);
    return 0;
}

static int op_semtimedop(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    long long id, sec, nsec;
    size_t n;
    struct timespec ts, *tsp = NULL;
    (void)ref;
    if (no_extra(ntok, 4, "semtimedop SID SOPS SEC:NSEC|NULL") || parse_value(tok[1], &id) ||
        parse_sops(tok[2], &n))
        return -1;
    if (strcmp(tok[3], "NULL") != 0) {
        char t[128];
        char *colon;
        if (strlen(tok[3]) >= sizeof t || !(colon = strchr(strcpy(t, tok[3]), ':')))
            return script_error("bad timeout '%s' (want SEC:NSEC or NULL)", tok[3]);
        *colon = 0;
        if (parse_number(t, &sec) || parse_number(colon + 1, &nsec))
            return script_error("bad timeout '%s'", tok[3]);
        ts.tv_sec = (time_t)sec;
        ts.tv_nsec = (long)nsec;
        tsp = &ts;
    }
    guard_on();
    *ret = syscall(SYS_semtimedop, (int)id, sops, n, tsp);
    guard_off(*ret, err);
    return 0;
}

static unsigned short semvals[MAX_SEMS];

static int op_semctl(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    long long id, num, cmd, f[3];
    union ctlbuf b;
    unsigned long arg = (unsigned long)&b;
    (void)ref;
    if (ntok < 4 || parse_value(tok[1], &id) || parse_value(tok[2], &num) ||
        parse_value(tok[3], &cmd))
        return ntok < 4 ? script_error("usage: semctl SID NUM CMD [ARG]") : -1;
    memset(&b, 0, sizeof b);
    if (cmd == SETVAL) {
        long long v;
        if (no_extra(ntok, 5, "semctl SID NUM SETVAL VAL") || parse_value(tok[4], &v))
            return -1;
        arg = (unsigned long)(long)(int)v;
    } else if (cmd == SETALL) {
        if (no_extra(ntok, 5, "semctl SID NUM SETALL V0,V1,...|-"))
            return -1;
        memset(semvals, 0, sizeof semvals);
        char buf[8192];
        if (strlen(tok[4]) >= sizeof buf)
            return script_error("value list too long");
        strcpy(buf, strcmp(tok[4], "-") == 0 ? "" : tok[4]);
        char *save = NULL;
        size_t k = 0;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            long long v;
            if (k >= MAX_SEMS || parse_value(t, &v))
                return k >= MAX_SEMS ? script_error("too many values") : -1;
            semvals[k++] = (unsigned short)v;
        }
        arg = (unsigned long)semvals;
    } else if (cmd == IPC_SET) {
        if (parse_set_fields(ntok, tok, 4, 3, f))
            return -1;
        b.sem.sem_perm.uid = (uid_t)f[0];
        b.sem.sem_perm.gid = (gid_t)f[1];
        b.sem.sem_perm.mode = (mode_t)f[2];
    } else if (cmd == GETALL) {
        if (no_extra(ntok, 4, "semctl SID NUM GETALL"))
            return -1;
        arg = (unsigned long)semvals;
    } else if (no_extra(ntok, 4, "semctl SID NUM CMD")) {
        return -1;
    }
    unsigned long nsems = 0;
    if (cmd == GETALL) {
        /* GETALL needs read permission, like IPC_STAT: if this fails, so does GETALL. */
        struct semid_ds st;
        if (syscall(SYS_semctl, (int)id, 0, IPC_STAT, &st) == 0)
            nsems = st.sem_nsems;
        memset(semvals, 0xff, sizeof semvals);
    }
    *ret = syscall(SYS_semctl, (int)id, (int)num, (int)cmd, arg);
    *err = errno;
    if (*ret < 0)
        return 0;
    if (cmd == IPC_STAT || cmd == SEM_STAT || cmd == SEM_STAT_ANY) {
        obs_semid(&b.sem);
    } else if (cmd == IPC_INFO || cmd == SEM_INFO) {
        obs("semmap=%d semmni=%d semmns=%d semmnu=%d semmsl=%d semopm=%d semume=%d semusz=%d "
            "semvmx=%d semaem=%d",
            b.seminfo.semmap, b.seminfo.semmni, b.seminfo.semmns, b.seminfo.semmnu,
            b.seminfo.semmsl, b.seminfo.semopm, b.seminfo.semume, b.seminfo.semusz,
            b.seminfo.semvmx, b.seminfo.semaem);
    } else if (cmd == GETALL) {
        char *list = malloc(nsems * 6 + 4);
        size_t k = 0;
        if (!list)
            exit(1);
        list[k++] = '[';
        for (unsigned long i = 0; i < nsems && i < MAX_SEMS; i++)
            k += (size_t)sprintf(list + k, i ? ",%u" : "%u", semvals[i]);
        list[k++] = ']';
        list[k] = 0;
        obs("values=%s", list);
        free(list);
    } else if (cmd == GETPID) {
        obs("sempid=%lld", *ret);
    }
    return 0;
}

static int op_shmget(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    long long key, size, flg;
    (void)ref;
    if (no_extra(ntok, 4, "shmget KEY SIZE FLAGS") || parse_value(tok[1], &key) ||
        parse_value(tok[2], &size) || parse_value(tok[3], &flg))
        return -1;
    *ret = syscall(SYS_shmget, (int)key, (size_t)size, (int)flg);
    *err = errno;
    return 0;
}

static int op_shmat(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    long long id, flg;
    unsigned long addr;
    if (no_extra(ntok, 4, "shmat SHMID ADDR FLAGS") || parse_value(tok[1], &id) ||
        parse_addr(tok[2], &addr) || parse_value(tok[3], &flg))
        return -1;
    long r = syscall(SYS_shmat, (int)id, addr, (int)flg);
    *err = errno;
    if (r == -1) {
        *ret = -1;
        return 0;
    }
    unsigned long a = (unsigned long)r;
    *ref = (long long)a;
    *ret = 0;
    if (a >= WINDOW_BASE && a < WINDOW_BASE + WINDOW_SIZE)
        obs("addr=+0x%lx", a - WINDOW_BASE);
    else
        obs("addr=auto");
    return 0;
}

static int op_shmdt(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    unsigned long addr;
    (void)ref;
    if (no_extra(ntok, 2, "shmdt ADDR") || parse_addr(tok[1], &addr))
        return -1;
    *ret = syscall(SYS_shmdt, addr);
    *err = errno;
    return 0;
}

static int op_shmctl(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    long long id, cmd, f[3];
    union ctlbuf b;
    (void)ref;
    if (ntok < 3 || parse_value(tok[1], &id) || parse_value(tok[2], &cmd))
        return ntok < 3 ? script_error("usage: shmctl SHMID CMD [uid gid mode]") : -1;
    memset(&b, 0, sizeof b);
    if (cmd == IPC_SET) {
        if (parse_set_fields(ntok, tok, 3, 3, f))
            return -1;
        b.shm.shm_perm.uid = (uid_t)f[0];
        b.shm.shm_perm.gid = (gid_t)f[1];
        b.shm.shm_perm.mode = (mode_t)f[2];
    } else if (no_extra(ntok, 3, "shmctl SHMID CMD")) {
        return -1;
    }
    *ret = syscall(SYS_shmctl, (int)id, (int)cmd, &b);
    *err = errno;
    if (*ret < 0)
        return 0;
    if (cmd == IPC_STAT || cmd == SHM_STAT || cmd == SHM_STAT_ANY)
        obs_shmid(&b.shm);
    else if (cmd == IPC_INFO)
        obs("shmmax=%lu shmmin=%lu shmmni=%lu shmseg=%lu shmall=%lu",
            (unsigned long)b.shminfo.shmmax, (unsigned long)b.shminfo.shmmin,
            (unsigned long)b.shminfo.shmmni, (unsigned long)b.shminfo.shmseg,
            (unsigned long)b.shminfo.shmall);
    else if (cmd == SHM_INFO)
        obs("used_ids=%d shm_tot=%lu shm_rss=%lu shm_swp=%lu swap_attempts=%lu "
            "swap_successes=%lu",
            b.shm_info.used_ids, (unsigned long)b.shm_info.shm_tot,
            (unsigned long)b.shm_info.shm_rss, (unsigned long)b.shm_info.shm_swp,
            (unsigned long)b.shm_info.swap_attempts, (unsigned long)b.shm_info.swap_successes);
    return 0;
}

static int op_write(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    unsigned long addr;
    unsigned char *body;
    long len;
    long long size;
    (void)ref;
    if (no_extra(ntok, 3, "write ADDR BODY") || parse_addr(tok[1], &addr) ||
        parse_body(tok[2], &body, &len, &size))
        return -1;
    if (sigsetjmp(fault_jb, 1)) {
        free(body);
        *ret = -1;
        *err = EFAULT;
        return 0;
    }
    fault_armed = 1;
    volatile unsigned char *dst = (volatile unsigned char *)addr;
    for (long i = 0; i < len; i++)
        dst[i] = body[i];
    fault_armed = 0;
    free(body);
    *ret = len;
    return 0;
}

static unsigned char readbuf[MAX_BODY];

static int op_read(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    unsigned long addr;
    long long len;
    (void)ref;
    if (no_extra(ntok, 3, "read ADDR LEN") || parse_addr(tok[1], &addr) ||
        parse_value(tok[2], &len))
        return -1;
    if (len < 0 || len > MAX_BODY)
        return script_error("bad length %lld", len);
    if (sigsetjmp(fault_jb, 1)) {
        *ret = -1;
        *err = EFAULT;
        return 0;
    }
    fault_armed = 1;
    volatile unsigned char *src = (volatile unsigned char *)addr;
    for (long long i = 0; i < len; i++)
        readbuf[i] = src[i];
    fault_armed = 0;
    *ret = len;
    obs_bytes("data", readbuf, (long)len);
    return 0;
}

static int op_seteuid(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    long long v;
    (void)ref;
    if (no_extra(ntok, 2, "seteuid UID") || parse_value(tok[1], &v))
        return -1;
    *ret = seteuid((uid_t)v);
    *err = errno;
    return 0;
}

static int op_setegid(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    long long v;
    (void)ref;
    if (no_extra(ntok, 2, "setegid GID") || parse_value(tok[1], &v))
        return -1;
    *ret = setegid((gid_t)v);
    *err = errno;
    return 0;
}

static int op_setgroups(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    gid_t groups[64];
    size_t n = 0;
    (void)ref;
    if (no_extra(ntok, 2, "setgroups GID,GID,...|-"))
        return -1;
    if (strcmp(tok[1], "-") != 0) {
        char buf[1024];
        char *save = NULL;
        if (strlen(tok[1]) >= sizeof buf)
            return script_error("group list too long");
        strcpy(buf, tok[1]);
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            long long v;
            if (n >= 64 || parse_value(t, &v))
                return n >= 64 ? script_error("too many groups") : -1;
            groups[n++] = (gid_t)v;
        }
    }
    *ret = setgroups(n, groups);
    *err = errno;
    return 0;
}

static int sysctl_name_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

static int op_sysctl(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    char path[128], val[1024];
    size_t k = 0;
    (void)ref;
    if (ntok < 3 || !sysctl_name_ok(tok[1]))
        return script_error("usage: sysctl NAME VALUE...");
    for (int i = 2; i < ntok; i++) {
        size_t l = strlen(tok[i]);
        if (k + l + 2 >= sizeof val)
            return script_error("value too long");
        memcpy(val + k, tok[i], l);
        k += l;
        val[k++] = i + 1 < ntok ? ' ' : '\n';
    }
    snprintf(path, sizeof path, "/proc/sys/kernel/%s", tok[1]);
    int fd = open(path, O_WRONLY);
    if (fd < 0) {
        *ret = -1;
        *err = errno;
        return 0;
    }
    ssize_t w = write(fd, val, k);
    *err = errno;
    close(fd);
    *ret = w < 0 ? -1 : 0;
    return 0;
}

static int op_readsysctl(int ntok, char **tok, long long *ret, int *err, long long *ref)
{
    char path[128], val[1024];
    (void)ref;
    if (ntok != 2 || !sysctl_name_ok(tok[1]))
        return script_error("usage: readsysctl NAME");
    snprintf(path, sizeof path, "/proc/sys/kernel/%s", tok[1]);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        *ret = -1;
        *err = errno;
        return 0;
    }
    ssize_t r = read(fd, val, sizeof val - 1);
    *err = errno;
    close(fd);
    if (r < 0) {
        *ret = -1;
        return 0;
    }
    val[r] = 0;
    char *words[16];
    int nw = 0;
    char *save = NULL;
    for (char *t = strtok_r(val, " \t\n", &save); t && nw < 16; t = strtok_r(NULL, " \t\n", &save)) {
        for (char *c = t; *c; c++)
            if (!isdigit((unsigned char)*c) && !(c == t && *c == '-'))
                return script_error("sysctl %s is not numeric", tok[1]);
        words[nw++] = t;
    }
    *ret = 0;
    if (nw == 1) {
        obs("value=%s", words[0]);
    } else {
        char list[1024];
        size_t k = 0;
        list[k++] = '[';
        for (int i = 0; i < nw; i++)
            k += (size_t)snprintf(list + k, sizeof list - k, i ? ",%s" : "%s", words[i]);
        snprintf(list + k, sizeof list - k, "]");
        obs("value=%s", list);
    }
    return 0;
}

struct op {
    const char *name;
    op_fn *fn;
};

static const struct op OPS[] = {
    {"msgget", op_msgget},     {"msgsnd", op_msgsnd},   {"msgrcv", op_msgrcv},
    {"msgctl", op_msgctl},     {"semget", op_semget},   {"semop", op_semop},
    {"semtimedop", op_semtimedop}, {"semctl", op_semctl}, {"shmget", op_shmget},
    {"shmat", op_shmat},       {"shmdt", op_shmdt},     {"shmctl", op_shmctl},
    {"write", op_write},       {"read", op_read},       {"seteuid", op_seteuid},
    {"setegid", op_setegid},   {"setgroups", op_setgroups}, {"sysctl", op_sysctl},
    {"readsysctl", op_readsysctl}, {NULL, NULL},
};

/* ------------------------------------------------------------------------------------------ */
/* Script reading                                                                             */

/* Splits a line into tokens in place. A token is a run of non-blank characters, or a "…" text
 * (which may hold blanks; \" and \\ do not end it). '#' outside a text starts a comment. */
static int tokenize(char *line, char **tok, int *ntok)
{
    char *p = line;
    *ntok = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p || *p == '#')
            return 0;
        if (*ntok >= MAX_TOKENS)
            return script_error("too many tokens");
        tok[(*ntok)++] = p;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
            if (*p != '"')
                return script_error("unterminated text");
            p++;
            if (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
                return script_error("text must be followed by a blank");
        } else {
            while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != '#')
                p++;
        }
        if (*p == '#') {
            *p = 0;
            return 0;
        }
        if (*p)
            *p++ = 0;
    }
}

static int valid_ref_name(const char *s, size_t len)
{
    if (len == 0 || len >= sizeof refs[0].name || isdigit((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

static op_fn *find_op(const char *name)
{
    for (const struct op *o = OPS; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o->fn;
    return NULL;
}

static int errors;

static void print_result(int idx, const char *opname, int rc, long long ret, int err)
{
    obsbuf[obslen] = 0;
    if (rc != 0) {
        errors++;
        printf("%d %s ! %s\n", idx, opname, errmsg);
    } else if (ret == -1) {
        printf("%d %s -%s%s\n", idx, opname, errno_name(err), obsbuf);
    } else {
        printf("%d %s %lld%s\n", idx, opname, ret, obsbuf);
    }
}

/* Runs tokens as one op; prints its line. `child` ops fork first and the child prints. */
static void run_op(int idx, char **tok, int ntok, const char *refname)
{
    long long ret = -1, ref;
    int err = 0, rc;
    char opname[80];
    int is_child = ntok > 0 && strcmp(tok[0], "child") == 0;

    obslen = 0;
    errmsg[0] = 0;
    if (is_child) {
        tok++;
        ntok--;
    }
    snprintf(opname, sizeof opname, "%s%s", is_child ? "child:" : "", ntok > 0 ? tok[0] : "?");
    for (char *c = opname; *c; c++)
        if (!isgraph((unsigned char)*c))
            *c = '?';
    op_fn *fn = ntok > 0 ? find_op(tok[0]) : NULL;
    if (!fn) {
        rc = script_error("unknown operation");
        print_result(idx, opname, rc, ret, err);
        return;
    }
    if (is_child && refname) {
        rc = script_error("a child op cannot be named");
        print_result(idx, opname, rc, ret, err);
        return;
    }
    if (is_child) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            rc = script_error("fork failed: %s", errno_name(errno));
            print_result(idx, opname, rc, ret, err);
            return;
        }
        if (pid == 0) {
            errno = 0;
            rc = fn(ntok, tok, &ret, &err, &ref);
            obs("child=%d", (int)getpid());
            print_result(idx, opname, rc, ret, err);
            fflush(stdout);
            _exit(0);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            obslen = 0;
            rc = script_error("child did not exit cleanly (status %d)", st);
            print_result(idx, opname, rc, ret, err);
        }
        return;
    }
    errno = 0;
    ref = 0;
    rc = fn(ntok, tok, &ret, &err, &ref);
    if (rc == 0 && ret != -1) {
        refs[idx].valid = 1;
        refs[idx].value = strcmp(tok[0], "shmat") == 0 ? ref : ret;
    }
    print_result(idx, opname, rc, ret, err);
}

/* The effective capability mask (CapEff in /proc/self/status), for the header line: some
 * results (qbytes above msgmnb, SHM_LOCK) depend on capabilities a container may lack. */
static const char *effective_caps(void)
{
    static char caps[32] = "unknown";
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return caps;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "CapEff: %31[0-9a-f]", caps) == 1)
            break;
    fclose(f);
    return caps;
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

    install_handlers();
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);

    /* Make sure the address window is free, so fixed attaches in it behave alike everywhere. */
    void *w = mmap((void *)WINDOW_BASE, WINDOW_SIZE, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (w != (void *)WINDOW_BASE) {
        fprintf(stderr, "ipc-harness: address window 0x%lx is not free\n", WINDOW_BASE);
        return 1;
    }
    munmap(w, WINDOW_SIZE);

    printf("# ipc-harness pid=%d base=0x%lx pagesize=%ld shmlba=%ld caps=%s\n", (int)getpid(),
           WINDOW_BASE, sysconf(_SC_PAGESIZE), (long)SHMLBA, effective_caps());

    while ((len = getline(&line, &cap, stdin)) >= 0) {
        char *tok[MAX_TOKENS];
        int ntok;
        const char *refname = NULL;
        int rc = tokenize(line, tok, &ntok);

        if (rc == 0 && ntok == 0)
            continue; /* blank or comment */
        if (nops >= MAX_OPS) {
            fprintf(stderr, "ipc-harness: more than %d operations\n", MAX_OPS);
            return 1;
        }
        int idx = nops++;
        refs[idx].valid = 0;
        refs[idx].name[0] = 0;
        if (rc != 0) {
            obslen = 0;
            print_result(idx, "?", rc, -1, 0);
            continue;
        }
        /* NAME=op: the op's value can later be referenced as $NAME. */
        char *eq = strchr(tok[0], '=');
        if (eq && tok[0][0] != '"') {
            size_t nl = (size_t)(eq - tok[0]);
            if (!valid_ref_name(tok[0], nl)) {
                obslen = 0;
                rc = script_error("bad reference name");
                print_result(idx, "?", rc, -1, 0);
                continue;
            }
            memcpy(refs[idx].name, tok[0], nl);
            refs[idx].name[nl] = 0;
            refname = refs[idx].name;
            if (eq[1]) {
                tok[0] = eq + 1;
            } else {
                for (int i = 1; i < ntok; i++)
                    tok[i - 1] = tok[i];
                ntok--;
            }
        }
        run_op(idx, tok, ntok, refname);
    }
    free(line);
    printf("# end ops=%d errors=%d\n", nops, errors);
    fflush(stdout);
    return errors ? 2 : 0;
}
