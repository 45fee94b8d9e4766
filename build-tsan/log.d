build-tsan/log.o: server/log.c server/common.h server/log.h
server/common.h:
server/log.h:
