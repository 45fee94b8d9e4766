build-tsan/mask.o: server/mask.c server/common.h server/mask.h
server/common.h:
server/mask.h:
