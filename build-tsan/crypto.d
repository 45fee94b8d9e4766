build-tsan/crypto.o: server/crypto.c server/common.h server/crypto.h
server/common.h:
server/crypto.h:
