build-tsan/view.o: server/view.c server/common.h server/view.h \
 server/order.h server/store.h server/crypto.h /usr/include/cjson/cJSON.h \
 server/app.h server/config.h server/json.h server/mask.h
server/common.h:
server/view.h:
server/order.h:
server/store.h:
server/crypto.h:
/usr/include/cjson/cJSON.h:
server/app.h:
server/config.h:
server/json.h:
server/mask.h:
