build-tsan/label.o: server/label.c server/common.h server/font.h \
 server/label.h server/mask.h server/log.h
server/common.h:
server/font.h:
server/label.h:
server/mask.h:
server/log.h:
