/*
 * For test/host/sleepers.test.ts: a new IPC namespace holding two semaphore sets of 3, set A
 * waited on, set B not. Then, in that namespace: a thread of this process sleeps in
 * semop(A[0] -= 1) (semncnt of A[0]), a child process in semtimedop(A[2] == 0) with A[2] = 1
 * (semzcnt of A[2]). Prints "<pid> <idA> <idB>" once both sleep, then waits to be killed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int a;

static void *waiter(void *arg)
{
    (void)arg;
    struct sembuf op = {0, -1, 0};
    syscall(SYS_semop, a, &op, 1);
    return NULL;
}

/* Whether semaphore k of set `id` has its sleeper (cmd GETNCNT or GETZCNT). */
static int counted(int id, int k, int cmd) { return (int)syscall(SYS_semctl, id, k, cmd, 0L) == 1; }

int main(void)
{
    if (unshare(CLONE_NEWIPC) < 0) {
        perror("unshare");
        return 1;
    }
    a = (int)syscall(SYS_semget, 0x5eed, 3, IPC_CREAT | 0600);
    int b = (int)syscall(SYS_semget, 0x5eee, 3, IPC_CREAT | 0600);
    if (a < 0 || b < 0 || syscall(SYS_semctl, a, 2, SETVAL, 1L) < 0 || syscall(SYS_semctl, b, 1, SETVAL, 4L) < 0) {
        perror("sem");
        return 1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, waiter, NULL) != 0)
        return 1;
    if (fork() == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        struct sembuf op = {2, 0, 0};
        struct timespec ts = {3600, 0};
        syscall(SYS_semtimedop, a, &op, 1, &ts);
        _exit(0);
    }
    for (int i = 0; i < 5000 && !(counted(a, 0, GETNCNT) && counted(a, 2, GETZCNT)); i++)
        usleep(1000);
    printf("%d %d %d\n", getpid(), a, b);
    fflush(stdout);
    pause();
    return 0;
}
