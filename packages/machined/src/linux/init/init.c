/*
 * Talos-TS initramfs /init: a small static program, so the initramfs needs neither Node nor a shell
 * and the kernel has ~1 MB instead of ~50 MB to unpack. It mounts /proc, /sys and /dev, loads the
 * modules listed in /lib/modules/init.order (dependencies first, written by the imager), mounts the
 * SquashFS root read-only, moves into it (as switch_root does, freeing the initramfs) and execs Node
 * with machined, so machined is PID 1. Every step prints the guest uptime for the boot timeline.
 * PID 1 must never exit: a failure is printed, and the machine restarts after a delay.
 *
 * Booted from an installed disk, the root comes inside the initramfs (GRUB loads the slot's
 * rootfs.cpio after initramfs.img, holding /rootfs.sqsh, as upstream carries its root in the
 * initramfs): it is mounted through a loop device, so /init never guesses which disk or slot to use.
 *
 * Kernel arguments read: talos.root= (a block device; default /rootfs.sqsh when the initramfs
 * carries it, else /dev/vda), talos.platform= (default metal),
 * talos.node.flags= (comma-separated Node/V8 flags put before the script, instead of the image's
 * /usr/lib/talos/node.flags; "none" for no flags).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NEW_ROOT "/root"
#define MODULE_ORDER "/lib/modules/init.order"
/* The root SquashFS when it travels inside the initramfs (disk installs). */
#define ROOTFS_IN_INITRAMFS "/rootfs.sqsh"
#define NODE "/usr/bin/node"
/* machined's start file: it runs the bundle through V8's code cache (packages/imager/src/build/loader.ts). */
#define MACHINED "/usr/lib/talos/machined.cjs"
#define ROOT_WAIT_MS 15000
#define FATAL_REBOOT_DELAY_S 10
/* The image's Node flags (comma-separated, one line), unless talos.node.flags= says otherwise; the
 * imager writes the V8 code caches with the same flags, as V8 rejects a cache made under others. */
#define NODE_FLAGS_FILE "/usr/lib/talos/node.flags"
#define MAX_NODE_FLAGS 16

static char cmdline[4096];

static double uptime_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One console line: "[  uptime] [init] message", written in one call so lines do not interleave. */
static void say(const char *fmt, ...) {
  char line[1024];
  int n = snprintf(line, sizeof line, "[%8.3f] [init] ", uptime_s());
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  ssize_t w = write(1, line, (size_t)n);
  (void)w;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

static _Noreturn void fatal(const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  say("fatal: Error: %s", msg);
  say("rebooting in %d s", FATAL_REBOOT_DELAY_S);
  sleep_ms(FATAL_REBOOT_DELAY_S * 1000L);
  sync();
  reboot(RB_AUTOBOOT);
  /* Still here: keep PID 1 alive rather than panic the kernel. */
  for (;;) pause();
}

/* The value of `key=` on the kernel command line, copied into out; 0 when absent. */
static int cmdline_arg(const char *key, char *out, size_t size) {
  size_t klen = strlen(key);
  for (const char *p = cmdline; *p;) {
    while (*p == ' ' || *p == '\n') p++;
    const char *end = p;
    while (*end && *end != ' ' && *end != '\n') end++;
    if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
      size_t len = (size_t)(end - p) - klen - 1;
      if (len >= size) len = size - 1;
      memcpy(out, p + klen + 1, len);
      out[len] = 0;
      return 1;
    }
    p = end;
  }
  return 0;
}

static void read_cmdline(void) {
  int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) fatal("open /proc/cmdline: %s", strerror(errno));
  ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
  close(fd);
  cmdline[n > 0 ? n : 0] = 0;
}

static void mount_or_die(const char *src, const char *target, const char *fstype, unsigned long flags, const char *data) {
  mkdir(target, 0755);
  if (mount(src, target, fstype, flags, data) < 0) fatal("mount %s on %s: %s", src ? src : "(none)", target, strerror(errno));
}

/* Loads each module file named in MODULE_ORDER (one absolute path a line); returns how many loaded. */
static int load_modules(void) {
  FILE *f = fopen(MODULE_ORDER, "re");
  if (!f) return 0;
  char path[512];
  int loaded = 0;
  while (fgets(path, sizeof path, f)) {
    path[strcspn(path, "\n")] = 0;
    if (!path[0]) continue;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      say("module %s: %s", path, strerror(errno));
      continue;
    }
    if (syscall(SYS_finit_module, fd, "", 0) == 0) loaded++;
    else if (errno != EEXIST) say("module %s: %s", path, strerror(errno));
    close(fd);
  }
  fclose(f);
  return loaded;
}

static int wait_for(const char *path, long timeout_ms) {
  struct stat st;
  for (long waited = 0; stat(path, &st) < 0; waited += 10) {
    if (waited >= timeout_ms) return 0;
    sleep_ms(10);
  }
  return 1;
}

/* Deletes the initramfs' files below dirfd without crossing into other mounts (as switch_root does). */
static void remove_tree(int dirfd, dev_t rootdev) {
  DIR *d = fdopendir(dirfd);
  if (!d) {
    close(dirfd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != rootdev) continue;
    if (S_ISDIR(st.st_mode)) {
      int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (sub >= 0) remove_tree(sub, rootdev);
      unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
    } else {
      unlinkat(dirfd, e->d_name, 0);
    }
  }
  closedir(d);
}

/* Attaches a file to a free loop device, read-only and cleared when its last user goes; returns the
 * loop device's fd (closed by the caller after mounting) and its path in dev. */
static int attach_loop(const char *file, char *dev, size_t size) {
  int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl < 0) fatal("open /dev/loop-control: %s", strerror(errno));
  int n = ioctl(ctl, LOOP_CTL_GET_FREE);
  close(ctl);
  if (n < 0) fatal("no free loop device: %s", strerror(errno));
  snprintf(dev, size, "/dev/loop%d", n);
  if (!wait_for(dev, 2000)) fatal("%s did not appear", dev);
  int ffd = open(file, O_RDONLY | O_CLOEXEC);
  if (ffd < 0) fatal("open %s: %s", file, strerror(errno));
  int lfd = open(dev, O_RDONLY | O_CLOEXEC);
  if (lfd < 0) fatal("open %s: %s", dev, strerror(errno));
  struct loop_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.fd = (unsigned int)ffd;
  cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
  if (ioctl(lfd, LOOP_CONFIGURE, &cfg) < 0) fatal("attach %s to %s: %s", file, dev, strerror(errno));
  /* The loop device holds its own reference: the file may go with the rest of the initramfs. */
  close(ffd);
  return lfd;
}

static void read_flags_file(char *out, size_t size) {
  out[0] = 0;
  int fd = open(NODE_FLAGS_FILE, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, out, size - 1);
  close(fd);
  out[n > 0 ? n : 0] = 0;
  out[strcspn(out, "\n")] = 0;
}

int main(void) {
  mount_or_die("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount_or_die("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount_or_die("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  say("started");
  read_cmdline();

  say("loaded %d modules", load_modules());

  char device[256] = "/dev/vda";
  struct stat sq;
  if (cmdline_arg("talos.root", device, sizeof device) || stat(ROOTFS_IN_INITRAMFS, &sq) < 0) {
    if (!wait_for(device, ROOT_WAIT_MS)) fatal("root device %s did not appear", device);
    mount_or_die(device, NEW_ROOT, "squashfs", MS_RDONLY, NULL);
    say("mounted %s (squashfs, read-only) on %s", device, NEW_ROOT);
  } else {
    int lfd = attach_loop(ROOTFS_IN_INITRAMFS, device, sizeof device);
    mount_or_die(device, NEW_ROOT, "squashfs", MS_RDONLY, NULL);
    close(lfd);
    say("mounted %s through %s (squashfs, read-only) on %s", ROOTFS_IN_INITRAMFS, device, NEW_ROOT);
  }
  const char *moved[] = {"/dev", "/proc", "/sys"};
  for (size_t i = 0; i < 3; i++) {
    char target[64];
    snprintf(target, sizeof target, NEW_ROOT "%s", moved[i]);
    if (mount(moved[i], target, NULL, MS_MOVE, NULL) < 0) fatal("move %s: %s", moved[i], strerror(errno));
  }

  struct stat rootst;
  if (stat("/", &rootst) == 0) {
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) remove_tree(fd, rootst.st_dev);
  }
  if (chdir(NEW_ROOT) < 0) fatal("chdir %s: %s", NEW_ROOT, strerror(errno));
  if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) fatal("move %s to /: %s", NEW_ROOT, strerror(errno));
  if (chroot(".") < 0) fatal("chroot: %s", strerror(errno));
  if (chdir("/") < 0) fatal("chdir /: %s", strerror(errno));

  char platform[64] = "metal";
  cmdline_arg("talos.platform", platform, sizeof platform);
  static char flags[512], shown[512];
  if (!cmdline_arg("talos.node.flags", flags, sizeof flags)) read_flags_file(flags, sizeof flags);
  memcpy(shown, flags, sizeof shown);
  char *argv[MAX_NODE_FLAGS + 6];
  int argc = 0;
  argv[argc++] = NODE;
  if (flags[0] && strcmp(flags, "none") != 0) {
    for (char *save = NULL, *tok = strtok_r(flags, ",", &save); tok && argc < MAX_NODE_FLAGS + 1; tok = strtok_r(NULL, ",", &save)) argv[argc++] = tok;
  }
  argv[argc++] = MACHINED;
  argv[argc++] = "--platform";
  argv[argc++] = platform;
  argv[argc] = NULL;
  char *envp[] = {"NO_COLOR=1", "PATH=/usr/bin:/usr/sbin", "HOME=/", "TALOS_NATIVE_ADDON=/usr/lib/talos/talos_native.node", NULL};
  say("starting machined --platform %s%s%s", platform, argc > 4 ? " with node flags " : "", argc > 4 ? shown : "");
  execve(NODE, argv, envp);
  fatal("execve %s: %s", NODE, strerror(errno));
}
