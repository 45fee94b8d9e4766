build-tsan/util.o: server/util.c server/common.h
server/common.h:
