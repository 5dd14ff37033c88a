/*
 * Native side of `npm run bench`: times system calls on the host kernel.
 *
 * A small server driven over stdin/stdout, so that the runner can alternate model and native
 * repetitions without paying a process start per repetition. Each request line is
 *
 *     <op> <iterations>
 *
 * and each reply is one line: `ok <nanoseconds>` (wall time of the timed loop only; set-up and
 * clean-up are outside it) or `unavailable <reason>`. The runner starts it as root under
 * `unshare --ipc --pid --fork`, so it is pid 1 of a fresh pid namespace and owns a fresh IPC
 * namespace whose limits (msgmnb…) it may raise without touching the host's.
 *
 * Every op creates what it needs, runs `iterations` times, and removes what it created.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

#define MSG_SIZE 64
#define COPY_QUEUE 2000
#define FILE_PATH "/dev/shm/nsd-bench-file"

struct msgbuf64 {
  long mtype;
  char mtext[MSG_SIZE];
};

union semun {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
};

/* The reason the current op cannot run (set by fail()). */
static char why[256];

static int fail(const char *what) {
  snprintf(why, sizeof why, "%s: %s", what, strerror(errno));
  return -1;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Writes a sysctl of this IPC namespace; failures are ignored (the op then reports its own). */
static void write_sysctl(const char *path, const char *value) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return;
  if (write(fd, value, strlen(value)) < 0) { /* reported by the op that needs it */ }
  close(fd);
}

/* ---- SysV IPC ---- */

static int op_msg_roundtrip(long n, int64_t *ns) {
  int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  if (id < 0) return fail("msgget");
  struct msgbuf64 m = { .mtype = 1 };
  memset(m.mtext, 'x', sizeof m.mtext);
  int rc = 0;
  int64_t t0 = now_ns();
  for (long i = 0; i < n; i++) {
    if (msgsnd(id, &m, MSG_SIZE, 0) < 0) { rc = fail("msgsnd"); break; }
    if (msgrcv(id, &m, MSG_SIZE, 0, 0) != MSG_SIZE) { rc = fail("msgrcv"); break; }
  }
  *ns = now_ns() - t0;
  msgctl(id, IPC_RMID, NULL);
  return rc;
}

static int op_msgget_rmid(long n, int64_t *ns) {
  int64_t t0 = now_ns();
  for (long i = 0; i < n; i++) {
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (id < 0) return fail("msgget");
    if (msgctl(id, IPC_RMID, NULL) < 0) return fail("msgctl(IPC_RMID)");
  }
  *ns = now_ns() - t0;
  return 0;
}

static int op_semop_pair(long n, int64_t *ns) {
  int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
  if (id < 0) return fail("semget");
  union semun arg = { .val = 1 };
  if (semctl(id, 0, SETVAL, arg) < 0) { fail("semctl(SETVAL)"); semctl(id, 0, IPC_RMID); return -1; }
  struct sembuf down = { 0, -1, 0 }, up = { 0, 1, 0 };
  int rc = 0;
  int64_t t0 = now_ns();
  for (long i = 0; i < n; i++) {
    if (semop(id, &down, 1) < 0 || semop(id, &up, 1) < 0) { rc = fail("semop"); break; }
  }
  *ns = now_ns() - t0;
  semctl(id, 0, IPC_RMID);
  return rc;
}

static int op_shmat_shmdt(long n, int64_t *ns) {
  int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  if (id < 0) return fail("shmget");
  int rc = 0;
  int64_t t0 = now_ns();
  for (long i = 0; i < n; i++) {
    void *p = shmat(id, NULL, 0);
    if (p == (void *)-1) { rc = fail("shmat"); break; }
    if (shmdt(p) < 0) { rc = fail("shmdt"); break; }
  }
  *ns = now_ns() - t0;
  shmctl(id, IPC_RMID, NULL);
  return rc;
}

/* MSG_COPY of message i (i = 0, 1, … cycling) in a queue of COPY_QUEUE 64-byte messages. */
static int op_msg_copy(long n, int64_t *ns) {
  char bytes[32];
  snprintf(bytes, sizeof bytes, "%d", COPY_QUEUE * MSG_SIZE * 2);
  write_sysctl("/proc/sys/kernel/msgmnb", bytes);
  int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  if (id < 0) return fail("msgget");
  struct msgbuf64 m = { .mtype = 1 };
  memset(m.mtext, 'x', sizeof m.mtext);
  int rc = 0;
  for (int i = 0; i < COPY_QUEUE && rc == 0; i++) {
    if (msgsnd(id, &m, MSG_SIZE, IPC_NOWAIT) < 0) rc = fail("msgsnd (filling the queue)");
  }
  int64_t t0 = now_ns();
  for (long i = 0; i < n && rc == 0; i++) {
    if (msgrcv(id, &m, MSG_SIZE, i % COPY_QUEUE, MSG_COPY | IPC_NOWAIT) != MSG_SIZE) rc = fail("msgrcv(MSG_COPY)");
  }
  *ns = now_ns() - t0;
  msgctl(id, IPC_RMID, NULL);
  return rc;
}

/* ---- processes and files ---- */

static int op_fork_exit_wait(long n, int64_t *ns) {
  int64_t t0 = now_ns();
  for (long i = 0; i < n; i++) {
    pid_t pid = fork();
    if (pid < 0) return fail("fork");
    if (pid == 0) _exit(0);
    int status;
    if (waitpid(pid, &status, 0) != pid) return fail("waitpid");
  }
  *ns = now_ns() - t0;
  return 0;
}

static int thread_body(void *arg) {
  (void)arg;
  syscall(SYS_exit, 0);
  return 0;
}

/*
 * clone() of a thread that exits at once; the parent waits for it the way pthread_join does
 * (CLONE_CHILD_CLEARTID clears the tid word and wakes its futex when the thread is gone), so
 * the stack can be reused.
 */
static int op_clone_thread_exit(long n, int64_t *ns) {
  static char stack[64 * 1024] __attribute__((aligned(16)));
  const int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                    CLONE_CHILD_CLEARTID | CLONE_PARENT_SETTID;
  volatile pid_t tid = 0;
  int64_t t0 = now_ns();
  for (long i = 0; i < n; i++) {
    if (clone(thread_body, stack + sizeof stack, flags, NULL, &tid, NULL, &tid) < 0) return fail("clone");
    for (pid_t v; (v = tid) != 0;) syscall(SYS_futex, &tid, FUTEX_WAIT, v, NULL, NULL, 0);
  }
  *ns = now_ns() - t0;
  return 0;
}

static int make_file(void) {
  int fd = open(FILE_PATH, O_WRONLY | O_CREAT, 0644);
  if (fd < 0) return fail("open(O_CREAT) " FILE_PATH);
  close(fd);
  return 0;
}

static int op_open_close(long n, int64_t *ns) {
  if (make_file() < 0) return -1;
  int rc = 0;
  int64_t t0 = now_ns();
  for (long i = 0; i < n; i++) {
    int fd = open(FILE_PATH, O_RDONLY);
    if (fd < 0) { rc = fail("open"); break; }
    close(fd);
  }
  *ns = now_ns() - t0;
  unlink(FILE_PATH);
  return rc;
}

static int op_dup2(long n, int64_t *ns) {
  if (make_file() < 0) return -1;
  int fd = open(FILE_PATH, O_RDONLY);
  if (fd < 0) return fail("open");
  int rc = 0;
  int64_t t0 = now_ns();
  for (long i = 0; i < n; i++) {
    if (dup2(fd, 100) != 100) { rc = fail("dup2"); break; }
  }
  *ns = now_ns() - t0;
  close(100);
  close(fd);
  unlink(FILE_PATH);
  return rc;
}

static const struct {
  const char *name;
  int (*run)(long, int64_t *);
} OPS[] = {
  { "msg-roundtrip", op_msg_roundtrip },
  { "msgget-rmid", op_msgget_rmid },
  { "semop-pair", op_semop_pair },
  { "shmat-shmdt", op_shmat_shmdt },
  { "msg-copy", op_msg_copy },
  { "fork-exit-wait", op_fork_exit_wait },
  { "clone-thread-exit", op_clone_thread_exit },
  { "open-close", op_open_close },
  { "dup2", op_dup2 },
};

int main(void) {
  char line[256], name[64];
  long n;
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready pid=%d\n", (int)getpid());
  while (fgets(line, sizeof line, stdin)) {
    if (sscanf(line, "%63s %ld", name, &n) != 2 || n <= 0) {
      printf("unavailable bad request\n");
      continue;
    }
    size_t i = 0;
    while (i < sizeof OPS / sizeof OPS[0] && strcmp(OPS[i].name, name) != 0) i++;
    if (i == sizeof OPS / sizeof OPS[0]) {
      printf("unavailable unknown op %s\n", name);
      continue;
    }
    int64_t ns = 0;
    if (OPS[i].run(n, &ns) < 0) printf("unavailable %s\n", why);
    else printf("ok %lld\n", (long long)ns);
  }
  return 0;
}
