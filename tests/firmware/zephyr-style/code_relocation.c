/*
 * zephyr-style fixture: the copy code Zephyr's gen_relocate_app.py generates
 * (code_relocation.c) for a build that relocates text to ITCM: one copy per
 * relocated output section, from its load address in flash. The names follow
 * the generated fragment (linker_relocate.ld): for LOCATION ITCM_TEXT the
 * section is .itcm_text_reloc and its bounds __itcm_text_reloc_start,
 * __itcm_text_reloc_size and __itcm_text_rom_start. Written here once: the
 * fixture relocates text to ITCM only, whichever files the list names.
 */
#include <stddef.h>

extern char __itcm_text_reloc_start[];
extern char __itcm_text_rom_start[];
extern char __itcm_text_reloc_size[];

void arch_early_memcpy(void *dst, const void *src, size_t n);

void data_copy_xip_relocation(void)
{
    arch_early_memcpy(&__itcm_text_reloc_start, &__itcm_text_rom_start,
                      (size_t)&__itcm_text_reloc_size);
}

void bss_zeroing_relocation(void)
{
    return;
}
