/*
 * Talos-TS native addon: the few Linux system calls Node.js does not expose and PID 1 needs.
 * Every function throws a JS Error carrying `code` (errno name) and `errno` on failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/reboot.h>
#include <node_api.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(call)                                                                                  \
  do {                                                                                               \
    if ((call) != napi_ok) return NULL;                                                              \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value message, error, code, num;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  const char *name = strerrorname_np(err);
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_set_named_property(env, error, "code", code);
  napi_create_int32(env, err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_throw(env, error);
  return NULL;
}

/* Copies a JS string argument into a malloc'd C string (NULL for null/undefined). */
static int get_string(napi_env env, napi_value v, char **out) {
  napi_valuetype t;
  *out = NULL;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_null || t == napi_undefined) return 0;
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a string");
    return -1;
  }
  *out = malloc(len + 1);
  napi_get_value_string_utf8(env, v, *out, len + 1, &len);
  return 0;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value int_value(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

/* mount(source, target, fstype, flags, data) */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *src = NULL, *target = NULL, *fstype = NULL, *data = NULL;
  double flags = 0;
  napi_value result = NULL;
  if (get_string(env, argv[0], &src) || get_string(env, argv[1], &target) || get_string(env, argv[2], &fstype)) goto out;
  if (napi_get_value_double(env, argv[3], &flags) != napi_ok) goto out;
  if (argc > 4 && get_string(env, argv[4], &data)) goto out;
  if (mount(src, target, fstype, (unsigned long)flags, data) != 0) {
    char what[300];
    snprintf(what, sizeof what, "mount %s", target ? target : "?");
    throw_errno(env, what, errno);
    goto out;
  }
  result = undefined(env);
out:
  free(src); free(target); free(fstype); free(data);
  return result;
}

/* umount2(target, flags) */
static napi_value js_umount2(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *target;
  int32_t flags = 0;
  if (get_string(env, argv[0], &target) || !target) return NULL;
  if (argc > 1) napi_get_value_int32(env, argv[1], &flags);
  int rc = umount2(target, flags);
  int err = errno;
  free(target);
  if (rc != 0) return throw_errno(env, "umount2", err);
  return undefined(env);
}

/* sethostname(name) */
static napi_value js_sethostname(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *name;
  if (get_string(env, argv[0], &name) || !name) return NULL;
  int rc = sethostname(name, strlen(name));
  int err = errno;
  free(name);
  if (rc != 0) return throw_errno(env, "sethostname", err);
  return undefined(env);
}

/* reboot(cmd): cmd is "restart", "poweroff" or "halt". Flushes file systems first. */
static napi_value js_reboot(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *what;
  if (get_string(env, argv[0], &what) || !what) return NULL;
  int cmd = strcmp(what, "poweroff") == 0 ? RB_POWER_OFF : strcmp(what, "halt") == 0 ? RB_HALT_SYSTEM : RB_AUTOBOOT;
  free(what);
  sync();
  if (reboot(cmd) != 0) return throw_errno(env, "reboot", errno);
  return undefined(env);
}

/* finitModule(path, params): loads a kernel module from a file. */
static napi_value js_finit_module(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *path, *params = NULL;
  if (get_string(env, argv[0], &path) || !path) return NULL;
  if (argc > 1 && get_string(env, argv[1], &params)) { free(path); return NULL; }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int err = errno;
  if (fd >= 0) {
    int rc = (int)syscall(SYS_finit_module, fd, params ? params : "", 0);
    err = rc == 0 ? 0 : errno;
    close(fd);
  }
  napi_value result = NULL;
  if (err != 0) {
    char what[600];
    snprintf(what, sizeof what, "finit_module %s", path);
    throw_errno(env, what, err);
  } else {
    result = undefined(env);
  }
  free(path); free(params);
  return result;
}

/* waitpid(pid, nohang): returns null when nothing changed, else {pid, code, signal}. */
static napi_value js_waitpid(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t pid;
  bool nohang = true;
  CHECK(napi_get_value_int32(env, argv[0], &pid));
  if (argc > 1) napi_get_value_bool(env, argv[1], &nohang);
  int status = 0;
  pid_t got = waitpid(pid, &status, nohang ? WNOHANG : 0);
  if (got < 0) return throw_errno(env, "waitpid", errno);
  napi_value out;
  if (got == 0) {
    napi_get_null(env, &out);
    return out;
  }
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "pid", int_value(env, got));
  napi_value nul;
  napi_get_null(env, &nul);
  napi_set_named_property(env, out, "code", WIFEXITED(status) ? int_value(env, WEXITSTATUS(status)) : nul);
  napi_set_named_property(env, out, "signal", WIFSIGNALED(status) ? int_value(env, WTERMSIG(status)) : nul);
  return out;
}

/* waitidPeek(): pid of an exited child without reaping it (WNOWAIT), or 0. Lets the reaper skip
 * children that belong to Node's own child_process bookkeeping. */
static napi_value js_waitid_peek(napi_env env, napi_callback_info info) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno == ECHILD) return int_value(env, 0);
    return throw_errno(env, "waitid", errno);
  }
  return int_value(env, si.si_pid);
}

static napi_value js_chroot(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *path;
  if (get_string(env, argv[0], &path) || !path) return NULL;
  int rc = chroot(path);
  int err = errno;
  free(path);
  if (rc != 0) return throw_errno(env, "chroot", err);
  return undefined(env);
}

/* Reads a JS array of strings into a NULL-terminated C array. */
static char **get_string_array(napi_env env, napi_value arr) {
  uint32_t n = 0;
  if (napi_get_array_length(env, arr, &n) != napi_ok) return NULL;
  char **out = calloc(n + 1, sizeof(char *));
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    napi_get_element(env, arr, i, &el);
    if (get_string(env, el, &out[i]) || !out[i]) return NULL;
  }
  return out;
}

/* execve(path, argv, envp): replaces this process; returns only by throwing. */
static napi_value js_execve(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *path;
  if (get_string(env, argv[0], &path) || !path) return NULL;
  char **args = get_string_array(env, argv[1]);
  char **envp = get_string_array(env, argv[2]);
  if (!args || !envp) return NULL;
  /* libuv reopens a TTY on stdio with close-on-exec set; the new program must keep the console.
   * Signals Node blocked must not stay blocked in the new program. */
  for (int fd = 0; fd <= 2; fd++) fcntl(fd, F_SETFD, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(path, args, envp);
  return throw_errno(env, "execve", errno);
}

/* Binds a netlink socket to `groups` with a 5 s receive timeout; closes it and throws on failure. */
static napi_value netlink_bind(napi_env env, int fd, uint32_t groups) {
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = groups;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind(AF_NETLINK)", err);
  }
  struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return int_value(env, fd);
}

/* netlinkOpen(protocol, groups): a blocking netlink socket with a receive timeout of 5 s. */
static napi_value js_netlink_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t protocol = 0;
  uint32_t groups = 0;
  CHECK(napi_get_value_int32(env, argv[0], &protocol));
  if (argc > 1) napi_get_value_uint32(env, argv[1], &groups);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) return throw_errno(env, "socket(AF_NETLINK)", errno);
  return netlink_bind(env, fd, groups);
}

/* netlinkSend(fd, buffer): sends one datagram to the kernel. */
static napi_value js_netlink_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  void *data;
  size_t len;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a Buffer");
    return NULL;
  }
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  if (sendto(fd, data, len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) return throw_errno(env, "netlink send", errno);
  return undefined(env);
}

/* netlinkRecv(fd): one datagram from the kernel (up to 64 KiB), blocking up to the timeout. */
static napi_value js_netlink_recv(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  static char buf[65536];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n < 0) return throw_errno(env, "netlink recv", errno);
  napi_value out;
  CHECK(napi_create_buffer_copy(env, (size_t)n, buf, NULL, &out));
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (close(fd) != 0) return throw_errno(env, "close", errno);
  return undefined(env);
}

/* klogReadAll(): the kernel log buffer as text (syslog(2) READ_ALL; does not consume it). */
static napi_value js_klog_read_all(napi_env env, napi_callback_info info) {
  int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
  if (size < 0) return throw_errno(env, "klogctl size", errno);
  char *buf = malloc((size_t)size + 1);
  int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
  if (n < 0) {
    int err = errno;
    free(buf);
    return throw_errno(env, "klogctl read", err);
  }
  napi_value out;
  napi_status st = napi_create_string_utf8(env, buf, (size_t)n, &out);
  free(buf);
  if (st != napi_ok) return NULL;
  return out;
}

static napi_value js_sync(napi_env env, napi_callback_info info) {
  sync();
  return undefined(env);
}

/* ---- dhcp helper: UDP sockets for DHCP/NTP on a link, and the clock (steps and slews). ---- */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/timex.h>
#include <time.h>

/* Moves the calling thread into the network namespace at `path` (a /run/netns entry) and returns a
 * descriptor of the namespace it came from, for leave_netns; -1 with *err set when it cannot. A socket
 * keeps the namespace it was made in, so the thread only stays for the socket(2) call. */
static int enter_netns(const char *path, int *err) {
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (self < 0 || target < 0 || setns(target, CLONE_NEWNET) != 0) {
    *err = errno;
    if (self >= 0) close(self);
    if (target >= 0) close(target);
    return -1;
  }
  close(target);
  return self;
}

static void leave_netns(int self) {
  if (setns(self, CLONE_NEWNET) != 0) abort(); /* never leave the main thread in another namespace */
  close(self);
}

/* socket(2) in the network namespace at `path` (NULL: this one); -1 with *err set on failure. */
static int socket_in_netns(const char *path, int family, int type, int protocol, int *err) {
  int self = -1;
  if (path && (self = enter_netns(path, err)) < 0) return -1;
  int fd = socket(family, type, protocol);
  *err = errno;
  if (path) leave_netns(self);
  return fd;
}

/* udpOpen(ifname|null, port, netnsPath|null) and udp6Open(...): a non-blocking UDP socket bound to
 * the any-address and port (IPv6 only for udp6Open), tied to the link (SO_BINDTODEVICE) so it sends
 * and receives there without an address. */
static napi_value udp_open(napi_env env, napi_callback_info info, int family) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *ifname = NULL, *ns = NULL;
  int32_t port = 0;
  napi_valuetype t;
  if (argc > 0 && napi_typeof(env, argv[0], &t) == napi_ok && t == napi_string && get_string(env, argv[0], &ifname) != 0) return NULL;
  if (argc > 1) CHECK(napi_get_value_int32(env, argv[1], &port));
  if (argc > 2 && napi_typeof(env, argv[2], &t) == napi_ok && t == napi_string && get_string(env, argv[2], &ns) != 0) {
    free(ifname);
    return NULL;
  }
  int err = 0;
  int fd = socket_in_netns(ns, family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, &err);
  free(ns);
  if (fd < 0) {
    free(ifname);
    return throw_errno(env, family == AF_INET6 ? "socket(AF_INET6)" : "socket(AF_INET)", err);
  }
  int one = 1;
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  else setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ifname && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) != 0) {
    err = errno;
    free(ifname);
    close(fd);
    return throw_errno(env, "SO_BINDTODEVICE", err);
  }
  free(ifname);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  if (family == AF_INET6) {
    struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons((uint16_t)port);
    sa->sin6_addr = in6addr_any;
    len = sizeof *sa;
  } else {
    struct sockaddr_in *sa = (struct sockaddr_in *)&ss;
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    sa->sin_addr.s_addr = htonl(INADDR_ANY);
    len = sizeof *sa;
  }
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
    err = errno;
    close(fd);
    return throw_errno(env, family == AF_INET6 ? "bind(udp6)" : "bind(udp)", err);
  }
  return int_value(env, fd);
}

static napi_value js_udp_open(napi_env env, napi_callback_info info) {
  return udp_open(env, info, AF_INET);
}


/* udpSend(fd, buffer, address, port) and udp6Send(...): one datagram to address:port. */
static napi_value udp_send(napi_env env, napi_callback_info info, int family) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd, port;
  void *data;
  size_t len;
  char *addr = NULL;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a Buffer");
    return NULL;
  }
  if (get_string(env, argv[2], &addr) != 0) return NULL;
  CHECK(napi_get_value_int32(env, argv[3], &port));
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t sslen;
  int ok;
  if (family == AF_INET6) {
    struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons((uint16_t)port);
    ok = addr ? inet_pton(AF_INET6, addr, &sa->sin6_addr) : 0;
    sslen = sizeof *sa;
  } else {
    struct sockaddr_in *sa = (struct sockaddr_in *)&ss;
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    ok = addr ? inet_pton(AF_INET, addr, &sa->sin_addr) : 0;
    sslen = sizeof *sa;
  }
  free(addr);
  if (ok != 1) return throw_errno(env, "inet_pton", EINVAL);
  if (sendto(fd, data, len, 0, (struct sockaddr *)&ss, sslen) < 0) return throw_errno(env, "sendto", errno);
  return undefined(env);
}

static napi_value js_udp_send(napi_env env, napi_callback_info info) {
  return udp_send(env, info, AF_INET);
}

/* udpRecv(fd): the next datagram, or null when none is waiting (the socket never blocks). */
static napi_value js_udp_recv(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  static char buf[65536];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      napi_value nul;
      CHECK(napi_get_null(env, &nul));
      return nul;
    }
    return throw_errno(env, "recv(udp)", errno);
  }
  napi_value out;
  CHECK(napi_create_buffer_copy(env, (size_t)n, buf, NULL, &out));
  return out;
}

/* clockStep(offsetNs as a decimal string): moves CLOCK_REALTIME by the offset at once. */
static napi_value js_clock_step(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *s = NULL;
  if (get_string(env, argv[0], &s) != 0) return NULL;
  long long off = strtoll(s, NULL, 10);
  free(s);
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return throw_errno(env, "clock_gettime", errno);
  long long ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec + off;
  ts.tv_sec = (time_t)(ns / 1000000000LL);
  ts.tv_nsec = (long)(ns % 1000000000LL);
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000L;
    ts.tv_sec -= 1;
  }
  if (clock_settime(CLOCK_REALTIME, &ts) != 0) return throw_errno(env, "clock_settime", errno);
  return undefined(env);
}

/* clockSlew(offsetUs): has the kernel slew the clock by the offset (adjtime-style, 0.5 ms/s). */
static napi_value js_clock_slew(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t us;
  CHECK(napi_get_value_int64(env, argv[0], &us));
  struct timex tx;
  memset(&tx, 0, sizeof tx);
  tx.modes = ADJ_OFFSET_SINGLESHOT;
  tx.offset = (long)us;
  if (adjtimex(&tx) < 0) return throw_errno(env, "adjtimex", errno);
  return undefined(env);
}


static napi_value js_udp6_open(napi_env env, napi_callback_info info) {
  return udp_open(env, info, AF_INET6);
}


static napi_value js_udp6_send(napi_env env, napi_callback_info info) {
  return udp_send(env, info, AF_INET6);
}

/* packetOpen(ifname, netnsPath|null): a non-blocking AF_PACKET socket on the link that sees the IPv4
 * UDP datagrams for port 68 (a BPF filter drops the rest in the kernel). A DHCP client reads its
 * replies here: unlike a UDP socket, it gets them before the link has an address and whatever
 * rp_filter says. Each datagram starts at the IP header. */
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
static napi_value js_packet_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *ifname = NULL, *ns = NULL;
  if (get_string(env, argv[0], &ifname) != 0) return NULL;
  if (!ifname) return throw_errno(env, "packetOpen needs a link", EINVAL);
  if (argc > 1 && get_string(env, argv[1], &ns) != 0) {
    free(ifname);
    return NULL;
  }
  int err = 0, fd = -1, self = -1;
  unsigned int ifindex = 0;
  if (ns && (self = enter_netns(ns, &err)) < 0) {
    free(ns);
    free(ifname);
    return throw_errno(env, "setns", err);
  }
  ifindex = if_nametoindex(ifname);
  if (ifindex == 0) err = errno;
  else {
    fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_IP));
    if (fd < 0) err = errno;
  }
  if (ns) leave_netns(self);
  free(ns);
  free(ifname);
  if (fd < 0) return throw_errno(env, ifindex == 0 ? "if_nametoindex" : "socket(AF_PACKET)", err);
  /* udp and dst port 68 and not a fragment, from the IP header on */
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 6),
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 4, 0),
      BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
      BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 68, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0xffff),
      BPF_STMT(BPF_RET | BPF_K, 0),
  };
  struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
    err = errno;
    close(fd);
    return throw_errno(env, "SO_ATTACH_FILTER", err);
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_IP);
  sll.sll_ifindex = (int)ifindex;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
    err = errno;
    close(fd);
    return throw_errno(env, "bind(AF_PACKET)", err);
  }
  return int_value(env, fd);
}
/* --- networking: netlink sockets inside a network namespace, and readiness of a non-blocking fd --- */
#include <uv.h>

/* netlinkOpenIn(protocol, groups, netnsPath): like netlinkOpen, with the socket made inside the named
 * network namespace ('' = ours) and a large receive buffer for bursts of multicast notifications. Only
 * the calling thread switches namespaces, and back before returning; the socket stays bound to the
 * namespace it was made in. */
static napi_value js_netlink_open_in(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t protocol = 0;
  uint32_t groups = 0;
  char path[512] = "";
  CHECK(napi_get_value_int32(env, argv[0], &protocol));
  if (argc > 1) napi_get_value_uint32(env, argv[1], &groups);
  if (argc > 2) napi_get_value_string_utf8(env, argv[2], path, sizeof path, NULL);
  int err = 0;
  int fd = socket_in_netns(path[0] != '\0' ? path : NULL, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol, &err);
  if (fd < 0) return throw_errno(env, "socket(AF_NETLINK)", err);
  int size = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return netlink_bind(env, fd, groups);
}

/* netlinkRecvNonBlocking(fd): one datagram, or null when none is waiting (MSG_DONTWAIT). */
static napi_value js_netlink_recv_nonblocking(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  static char buf[65536];
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      napi_value nul;
      CHECK(napi_get_null(env, &nul));
      return nul;
    }
    return throw_errno(env, "netlink recv", errno);
  }
  napi_value out;
  CHECK(napi_create_buffer_copy(env, (size_t)n, buf, NULL, &out));
  return out;
}

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  int stopped;
} fd_watch;

static void fd_watch_event(uv_poll_t *handle, int status, int events) {
  (void)events;
  fd_watch *w = handle->data;
  napi_handle_scope scope;
  if (napi_open_handle_scope(w->env, &scope) != napi_ok) return;
  napi_value cb, recv, arg, result;
  napi_get_reference_value(w->env, w->callback, &cb);
  napi_get_global(w->env, &recv); /* MakeCallback needs an object receiver */
  napi_create_int32(w->env, status, &arg);
  if (napi_make_callback(w->env, w->async, recv, cb, 1, &arg, &result) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(w->env, &exc);
    napi_fatal_exception(w->env, exc);
  }
  napi_close_handle_scope(w->env, scope);
}

static void fd_watch_closed(uv_handle_t *handle) {
  fd_watch *w = handle->data;
  napi_delete_reference(w->env, w->callback);
  napi_async_destroy(w->env, w->async);
  free(w);
}

/* fdWatch(fd, callback): calls callback(status) on the event loop whenever fd is readable (uv_poll);
 * returns a handle for fdUnwatch. The loop stays alive while a watch is active. */
static napi_value js_fd_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  fd_watch *w = calloc(1, sizeof *w);
  w->env = env;
  w->poll.data = w;
  napi_value name;
  CHECK(napi_create_string_utf8(env, "talos:fdWatch", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &w->async));
  CHECK(napi_create_reference(env, argv[1], 1, &w->callback));
  int rc = uv_poll_init(loop, &w->poll, fd);
  if (rc == 0) rc = uv_poll_start(&w->poll, UV_READABLE, fd_watch_event);
  if (rc != 0) {
    napi_delete_reference(env, w->callback);
    napi_async_destroy(env, w->async);
    free(w);
    return throw_errno(env, "uv_poll", -rc);
  }
  napi_value out;
  CHECK(napi_create_external(env, w, NULL, NULL, &out));
  return out;
}

/* fdUnwatch(handle): stops a watch made by fdWatch (idempotent); the fd is not closed. */
static napi_value js_fd_unwatch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  fd_watch *w;
  CHECK(napi_get_value_external(env, argv[0], (void **)&w));
  if (!w->stopped) {
    w->stopped = 1;
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, fd_watch_closed);
  }
  return undefined(env);
}


static napi_value js_socket_send_buffer(napi_env env, napi_callback_info info);
static napi_value js_arp_announce(napi_env env, napi_callback_info info);

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mount", NULL, js_mount, NULL, NULL, NULL, napi_enumerable, NULL},
      {"umount2", NULL, js_umount2, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sethostname", NULL, js_sethostname, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reboot", NULL, js_reboot, NULL, NULL, NULL, napi_enumerable, NULL},
      {"finitModule", NULL, js_finit_module, NULL, NULL, NULL, napi_enumerable, NULL},
      {"waitpid", NULL, js_waitpid, NULL, NULL, NULL, napi_enumerable, NULL},
      {"waitidPeek", NULL, js_waitid_peek, NULL, NULL, NULL, napi_enumerable, NULL},
      {"chroot", NULL, js_chroot, NULL, NULL, NULL, napi_enumerable, NULL},
      {"execve", NULL, js_execve, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkOpen", NULL, js_netlink_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkSend", NULL, js_netlink_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkRecv", NULL, js_netlink_recv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"klogReadAll", NULL, js_klog_read_all, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sync", NULL, js_sync, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpOpen", NULL, js_udp_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpSend", NULL, js_udp_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpRecv", NULL, js_udp_recv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"clockStep", NULL, js_clock_step, NULL, NULL, NULL, napi_enumerable, NULL},
      {"clockSlew", NULL, js_clock_slew, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udp6Open", NULL, js_udp6_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udp6Send", NULL, js_udp6_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"packetOpen", NULL, js_packet_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socketSendBuffer", NULL, js_socket_send_buffer, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkOpenIn", NULL, js_netlink_open_in, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netlinkRecvNonBlocking", NULL, js_netlink_recv_nonblocking, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fdWatch", NULL, js_fd_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fdUnwatch", NULL, js_fd_unwatch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"arpAnnounce", NULL, js_arp_announce, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

/* socketSendBuffer(fd, bytes): raises a socket's send buffer past the sysctl cap (SO_SNDBUFFORCE,
 * needs CAP_NET_ADMIN), falling back to SO_SNDBUF; returns the size the kernel granted. A netlink
 * datagram larger than the send buffer is refused, and an nf_tables transaction is one datagram. */
static napi_value js_socket_send_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = 0, bytes = 0;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[1], &bytes));
  if (setsockopt(fd, SOL_SOCKET, 32 /* SO_SNDBUFFORCE */, &bytes, sizeof bytes) != 0 &&
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) != 0)
    return throw_errno(env, "setsockopt(SO_SNDBUF)", errno);
  int granted = 0;
  socklen_t len = sizeof granted;
  getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &granted, &len);
  return int_value(env, granted);
}

/* arpAnnounce(ifname, ipv4, netnsPath|null): sends one gratuitous ARP request for ipv4 out the link
 * (sender and target both ipv4, to the broadcast address), so neighbours and switches move the
 * address to this link's MAC at once: what a VIP holder does on takeover. Opens and closes its own
 * AF_PACKET socket, inside the namespace when one is named. */
#include <sys/ioctl.h>
static napi_value js_arp_announce(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *ifname = NULL, *ip = NULL, *ns = NULL;
  if (argc < 2 || get_string(env, argv[0], &ifname) != 0 || get_string(env, argv[1], &ip) != 0 || (argc > 2 && get_string(env, argv[2], &ns) != 0)) {
    free(ifname);
    free(ip);
    return NULL;
  }
  struct in_addr addr;
  int valid = ifname && ip && inet_pton(AF_INET, ip, &addr) == 1;
  free(ip);
  if (!valid) {
    free(ifname);
    free(ns);
    return throw_errno(env, "arpAnnounce needs a link and an IPv4 address", EINVAL);
  }
  int err = 0, fd = -1, self = -1;
  const char *step = "socket(AF_PACKET)";
  if (ns && (self = enter_netns(ns, &err)) < 0) {
    free(ns);
    free(ifname);
    return throw_errno(env, "setns", err);
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  unsigned int ifindex = if_nametoindex(ifname);
  if (ifindex == 0) {
    err = errno;
    step = "if_nametoindex";
  } else if ((fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP))) < 0) {
    err = errno;
  } else if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
    err = errno;
    step = "SIOCGIFHWADDR";
  }
  if (ns) leave_netns(self);
  free(ns);
  free(ifname);
  if (err != 0) {
    if (fd >= 0) close(fd);
    return throw_errno(env, step, err);
  }
  unsigned char pkt[28];
  pkt[0] = 0; pkt[1] = 1;       /* hardware type: Ethernet */
  pkt[2] = 0x08; pkt[3] = 0x00; /* protocol type: IPv4 */
  pkt[4] = 6; pkt[5] = 4;       /* address lengths */
  pkt[6] = 0; pkt[7] = 1;       /* operation: request */
  memcpy(pkt + 8, ifr.ifr_hwaddr.sa_data, 6);
  memcpy(pkt + 14, &addr, 4);
  memset(pkt + 18, 0, 6);
  memcpy(pkt + 24, &addr, 4);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ARP);
  sll.sll_ifindex = (int)ifindex;
  sll.sll_halen = 6;
  memset(sll.sll_addr, 0xff, 6);
  ssize_t sent = sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&sll, sizeof sll);
  err = sent < 0 ? errno : 0;
  close(fd);
  if (sent < 0) return throw_errno(env, "sendto(ARP)", err);
  return undefined(env);
}
