build-tsan/auth.o: server/auth.c server/common.h server/auth.h \
 server/store.h server/crypto.h server/order.h server/app.h \
 server/config.h
server/common.h:
server/auth.h:
server/store.h:
server/crypto.h:
server/order.h:
server/app.h:
server/config.h:
