/*
 * vfio-probe BDF: the VFIO steps a userspace driver takes, done by hand in the test guest, as in the
 * kernel's Documentation/driver-api/vfio.rst example: a container with the type 1 IOMMU, the
 * device's group in it, the device's fd, its config space (vendor and device id), its BARs and
 * MSI-X vectors, and 2 MiB of anonymous memory mapped for DMA at an IOVA and unmapped again.
 * Prints GUEST lines for QemuGuestTests; exits 0 when every step worked. Built static on the host.
 */
#include <fcntl.h>
#include <libgen.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *bdf;

static int fail(const char *step)
{
    printf("GUEST probe %s failed: ", bdf);
    fflush(stdout);
    perror(step);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    bdf = argv[1];
    char link[256], path[300];
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/iommu_group", bdf);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n < 0)
        return fail("iommu_group");
    link[n] = 0;
    int container = open("/dev/vfio/vfio", O_RDWR);
    if (container < 0)
        return fail("open /dev/vfio/vfio");
    if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION || !ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU))
        return fail("api version or type1v2");
    snprintf(path, sizeof path, "/dev/vfio/%s", basename(link));
    int group = open(path, O_RDWR);
    if (group < 0)
        return fail(path);
    struct vfio_group_status status = { .argsz = sizeof status };
    if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) || !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
        return fail("group not viable");
    if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
        return fail("VFIO_GROUP_SET_CONTAINER");
    if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
        return fail("VFIO_SET_IOMMU");
    int device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
    if (device < 0)
        return fail("VFIO_GROUP_GET_DEVICE_FD");
    struct vfio_device_info info = { .argsz = sizeof info };
    if (ioctl(device, VFIO_DEVICE_GET_INFO, &info))
        return fail("VFIO_DEVICE_GET_INFO");
    struct vfio_region_info config = { .argsz = sizeof config, .index = VFIO_PCI_CONFIG_REGION_INDEX };
    unsigned short ids[2];
    if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &config) || pread(device, ids, sizeof ids, config.offset) != sizeof ids)
        return fail("config space");
    printf("GUEST probe %s config 0x%04x:0x%04x reset %s", bdf, ids[0], ids[1], info.flags & VFIO_DEVICE_FLAGS_RESET ? "yes" : "no");
    for (unsigned i = VFIO_PCI_BAR0_REGION_INDEX; i <= VFIO_PCI_BAR5_REGION_INDEX; i++) {
        struct vfio_region_info bar = { .argsz = sizeof bar, .index = i };
        if (!ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &bar) && bar.size)
            printf(" bar%u=%llu%s", i, (unsigned long long)bar.size, bar.flags & VFIO_REGION_INFO_FLAG_MMAP ? "m" : "");
    }
    struct vfio_irq_info msix = { .argsz = sizeof msix, .index = VFIO_PCI_MSIX_IRQ_INDEX };
    if (!ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, &msix))
        printf(" msix=%u", msix.count);
    printf("\n");
    size_t size = 2 << 20;
    void *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        return fail("mmap");
    struct vfio_iommu_type1_dma_map map = { .argsz = sizeof map, .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        .vaddr = (unsigned long)memory, .iova = 0x100000, .size = size };
    if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
        return fail("VFIO_IOMMU_MAP_DMA");
    struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof unmap, .iova = 0x100000, .size = size };
    if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) || unmap.size != size)
        return fail("VFIO_IOMMU_UNMAP_DMA");
    printf("GUEST probe %s ok\n", bdf);
    return 0;
}
