build-tsan/config.o: server/config.c server/common.h server/config.h \
 server/log.h
server/common.h:
server/config.h:
server/log.h:
