# zephyr-style fixture: the application's hand-written relocation list, as it would
# appear in its CMakeLists.txt (with CONFIG_CODE_DATA_RELOCATION=y in prj.conf).
zephyr_code_relocate(FILES src/filters.c LOCATION ITCM_TEXT)
