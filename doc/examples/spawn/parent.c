/* SPDX-License-Identifier: MIT */
/* node-parent PATH-OF-node-child: starts the node as a child process, checks
 * who it is, calls it, drops it and reports how it exited. */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include "node.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t exited = PTHREAD_COND_INITIALIZER;
static int child_status = -1;
static int child_gone;

/* Runs on Parley's I/O thread once the child is reaped. */
static void on_exit_fn(parley_peer *peer, pid_t pid, int wait_status, void *data)
{
    (void)peer; (void)data;
    pthread_mutex_lock(&lock);
    if (WIFEXITED(wait_status))
        printf("node %d exited with %d\n", (int)pid, WEXITSTATUS(wait_status));
    else if (WIFSIGNALED(wait_status))
        printf("node %d was killed by signal %d\n", (int)pid, WTERMSIG(wait_status));
    child_status = wait_status;
    child_gone = 1;
    pthread_cond_signal(&exited);
    pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    char *child_argv[] = { argc == 2 ? argv[1] : NULL, NULL };
    parley_peer *peer;
    parley_session *node;
    parley_credentials cred;
    node_height_reply *h;
    node_stop_reply *s;
    pid_t pid;
    parley_status st = PARLEY_ERR_INVALID_ARGUMENT;

    if (argc == 2 && (st = parley_peer_new(mem, &node_protocol, &peer)) == PARLEY_OK &&
        (st = parley_peer_spawn_child(peer, child_argv, on_exit_fn, NULL, &node, &pid)) ==
            PARLEY_OK &&
        (st = parley_session_get_credentials(node, &cred)) == PARLEY_OK &&
        (st = node_height(node, &(node_height_request){ 0 }, mem, &h)) == PARLEY_OK &&
        (st = node_stop(node, &(node_stop_request){ 3 }, mem, &s)) == PARLEY_OK) {
        printf("spawned node %d (credentials: pid %d, uid %u)\n", (int)pid, (int)cred.pid,
               (unsigned)cred.uid);
        printf("node %u is at height %llu\n", (unsigned)h->pid, (unsigned long long)h->height);
        parley_session_close(node);  /* the node sees end of stream and exits */
        pthread_mutex_lock(&lock);
        while (!child_gone)          /* bounded: the child gets SIGKILL 4 s after */
            pthread_cond_wait(&exited, &lock);
        pthread_mutex_unlock(&lock);
    } else {
        fprintf(stderr, "parent: %s: %s\n", parley_status_name(st), parley_error_message());
    }
    talloc_free(mem);
    return st == PARLEY_OK && WIFEXITED(child_status) ? 0 : 1;
}
