build-tsan/limits.o: server/limits.c server/common.h server/limits.h \
 server/crypto.h
server/common.h:
server/limits.h:
server/crypto.h:
