// emojidata.js: the built-in emoji table: each line is an emoji, its
// :shortcode: (the names GitHub and Slack use) and words to find it by.
// Common emoji only, no skin tones: a chat needs a few hundred, offline.
// emoji.js reads it.

export const EMOJI_TABLE = `
😀 grinning smile happy
😃 smiley happy joy
😄 smile happy joy laugh
😁 grin happy
😆 laughing satisfied laugh lol
😅 sweat_smile hot relief
🤣 rofl lol laughing floor
😂 joy tears laugh lol
🙂 slightly_smiling_face smile
🙃 upside_down_face silly
😉 wink flirt
😊 blush proud shy
😇 innocent angel halo
🥰 smiling_face_with_three_hearts love crush
😍 heart_eyes love crush
🤩 star_struck excited wow
😘 kissing_heart kiss flirt
😗 kissing kiss
😚 kissing_closed_eyes kiss
😙 kissing_smiling_eyes kiss
😋 yum tasty delicious
😛 stuck_out_tongue tongue
😜 stuck_out_tongue_winking_eye prank silly
🤪 zany_face crazy goofy
😝 stuck_out_tongue_closed_eyes prank
🤑 money_mouth_face rich
🤗 hugs hug
🤭 hand_over_mouth oops
🤫 shushing_face quiet secret
🤔 thinking hmm think
🤐 zipper_mouth_face silence
🤨 raised_eyebrow suspicious
😐 neutral_face meh
😑 expressionless blank
😶 no_mouth mute silence
😏 smirk smug
😒 unamused meh
🙄 roll_eyes eyeroll
😬 grimacing awkward
🤥 lying_face liar
😌 relieved whew
😔 pensive sad
😪 sleepy tired
🤤 drooling_face
😴 sleeping zzz tired
😷 mask sick ill
🤒 face_with_thermometer sick
🤕 face_with_head_bandage hurt
🤢 nauseated_face sick gross
🤮 vomiting_face sick
🤧 sneezing_face sick achoo
🥵 hot_face heat sweating
🥶 cold_face freezing
🥴 woozy_face drunk dizzy
😵 dizzy_face
🤯 exploding_head mind_blown shocked
🤠 cowboy_hat_face cowboy
🥳 partying_face party celebration
😎 sunglasses cool
🤓 nerd_face geek
🧐 monocle_face inspect
😕 confused
😟 worried nervous
🙁 slightly_frowning_face sad
😮 open_mouth surprise wow
😯 hushed silence
😲 astonished amazed
😳 flushed embarrassed
🥺 pleading_face puppy_eyes please
😦 frowning
😧 anguished
😨 fearful scared
😰 cold_sweat nervous
😥 disappointed_relieved phew
😢 cry sad tear
😭 sob sad cry
😱 scream horror
😖 confounded
😣 persevere struggling
😞 disappointed sad
😓 sweat
😩 weary tired
😫 tired_face upset
🥱 yawning_face bored tired
😤 triumph smug
😡 rage angry
😠 angry mad
🤬 cursing_face swearing
😈 smiling_imp devil evil
👿 imp angry devil
💀 skull dead
☠️ skull_and_crossbones danger
💩 poop hankey
🤡 clown_face
👹 japanese_ogre monster
👻 ghost halloween
👽 alien ufo
🤖 robot bot
😺 smiley_cat cat
😸 smile_cat cat
😹 joy_cat cat
😻 heart_eyes_cat cat love
🙈 see_no_evil monkey blind
🙉 hear_no_evil monkey deaf
🙊 speak_no_evil monkey mute
💋 kiss lips
💌 love_letter
💘 cupid love heart
💝 gift_heart
💖 sparkling_heart
💗 heartpulse
💓 heartbeat
💞 revolving_hearts
💕 two_hearts
💟 heart_decoration
❣️ heavy_heart_exclamation
💔 broken_heart sad
❤️ heart love like
🧡 orange_heart
💛 yellow_heart
💚 green_heart
💙 blue_heart
💜 purple_heart
🤎 brown_heart
🖤 black_heart
🤍 white_heart
💯 100 score perfect hundred
💢 anger
💥 boom collision explosion
💫 dizzy star
💦 sweat_drops water
💨 dash wind fast
💬 speech_balloon comment chat
💭 thought_balloon thinking
💤 zzz sleeping
👋 wave hello hi bye
🤚 raised_back_of_hand
✋ hand raised_hand stop highfive
🖖 vulcan_salute spock
👌 ok_hand ok perfect
🤌 pinched_fingers
🤏 pinching_hand small
✌️ v victory peace
🤞 crossed_fingers luck hope
🤟 love_you_gesture
🤘 metal rock
🤙 call_me_hand
👈 point_left
👉 point_right
👆 point_up_2
👇 point_down
☝️ point_up
👍 +1 thumbsup yes like approve
👎 -1 thumbsdown no dislike
✊ fist raised_fist
👊 facepunch punch fist_bump
🤛 fist_left
🤜 fist_right
👏 clap applause bravo
🙌 raised_hands hooray celebrate
👐 open_hands
🤲 palms_up_together
🤝 handshake deal agreement
🙏 pray please thanks hope
✍️ writing_hand
💅 nail_care
🤳 selfie
💪 muscle strong flex
🧠 brain smart
👀 eyes look see watching
👁️ eye
👅 tongue
👄 lips mouth
👶 baby child
🧒 child kid
👦 boy
👧 girl
🧑 adult person
👨 man
👩 woman
🧓 older_adult
👴 older_man
👵 older_woman
🙋 raising_hand hello question
🙅 no_good nope
🙆 ok_woman
💁 tipping_hand_person information
🤷 shrug whatever dunno
🤦 facepalm doh
🙇 bow sorry
👮 police_officer cop
🕵️ detective sleuth
👷 construction_worker
🧑‍💻 technologist coder developer
🧑‍🚀 astronaut space
🦸 superhero hero
🧙 mage wizard
🧟 zombie
🏃 runner running
💃 dancer dance
🕺 man_dancing dance
👯 dancers party
🧘 yoga meditation
🛀 bath
👪 family
🐶 dog puppy
🐱 cat kitten
🐭 mouse
🐹 hamster
🐰 rabbit bunny
🦊 fox_face fox
🐻 bear
🐼 panda_face panda
🐨 koala
🐯 tiger
🦁 lion
🐮 cow
🐷 pig
🐸 frog
🐵 monkey_face monkey
🐔 chicken
🐧 penguin
🐦 bird
🐤 baby_chick
🦆 duck
🦅 eagle
🦉 owl
🦇 bat
🐺 wolf
🐴 horse
🦄 unicorn
🐝 bee honeybee
🐛 bug insect
🦋 butterfly
🐌 snail slow
🐞 lady_beetle ladybug
🐢 turtle slow
🐍 snake
🐙 octopus
🦀 crab
🐠 tropical_fish fish
🐟 fish
🐬 dolphin
🐳 whale
🦈 shark
🐊 crocodile
🐘 elephant
🦒 giraffe
🐿️ chipmunk squirrel
🦔 hedgehog
💐 bouquet flowers
🌸 cherry_blossom flower spring
🌹 rose flower
🌻 sunflower
🌼 blossom
🌷 tulip
🌱 seedling plant
🌲 evergreen_tree tree
🌳 deciduous_tree tree
🌴 palm_tree
🌵 cactus
🍀 four_leaf_clover luck
🍁 maple_leaf autumn
🍂 fallen_leaf autumn
🍄 mushroom
🌍 earth_africa globe world
🌎 earth_americas globe world
🌏 earth_asia globe world
🌙 crescent_moon night
⭐ star
🌟 star2 glowing_star
✨ sparkles shiny new
⚡ zap lightning fast
🔥 fire hot lit
🌈 rainbow
☀️ sunny sun weather
⛅ partly_sunny weather
☁️ cloud weather
🌧️ cloud_with_rain rain
⛈️ cloud_with_lightning_and_rain storm
❄️ snowflake cold winter
⛄ snowman winter
💧 droplet water
🌊 ocean wave sea
🍏 green_apple fruit
🍎 apple fruit
🍐 pear
🍊 tangerine orange
🍋 lemon
🍌 banana
🍉 watermelon
🍇 grapes
🍓 strawberry
🍒 cherries
🍑 peach
🥭 mango
🍍 pineapple
🥥 coconut
🥝 kiwi_fruit
🍅 tomato
🥑 avocado
🥦 broccoli
🥕 carrot
🌽 corn
🌶️ hot_pepper spicy
🥔 potato
🍞 bread toast
🥐 croissant
🥨 pretzel
🧀 cheese
🥚 egg
🍳 fried_egg cooking breakfast
🥞 pancakes breakfast
🥓 bacon
🍔 hamburger burger
🍟 fries
🍕 pizza
🌭 hotdog
🥪 sandwich
🌮 taco
🌯 burrito
🥗 green_salad salad
🍝 spaghetti pasta
🍜 ramen noodles
🍣 sushi
🍱 bento
🍛 curry
🍚 rice
🍦 icecream
🍩 doughnut donut
🍪 cookie
🎂 birthday cake
🍰 cake dessert
🧁 cupcake
🍫 chocolate_bar chocolate
🍬 candy sweet
🍭 lollipop
🍿 popcorn movie
☕ coffee cafe espresso
🍵 tea
🧃 beverage_box juice
🥤 cup_with_straw soda
🍺 beer drink
🍻 beers cheers
🥂 clinking_glasses cheers toast
🍷 wine_glass wine
🥃 tumbler_glass whisky
🍸 cocktail
🍾 champagne bottle celebration
⚽ soccer football
🏀 basketball
🏈 football american
⚾ baseball
🎾 tennis
🏐 volleyball
🏓 ping_pong
🎱 8ball billiards
🏆 trophy win award
🥇 1st_place_medal gold first
🥈 2nd_place_medal silver
🥉 3rd_place_medal bronze
🏅 medal_sports medal
🎯 dart target bullseye
🎮 video_game game controller
🎲 game_die dice
🧩 jigsaw puzzle
🎨 art palette paint
🎬 clapper film movie
🎤 microphone sing
🎧 headphones music
🎵 musical_note music
🎶 notes music
🎸 guitar
🎹 musical_keyboard piano
🥁 drum
🎉 tada party hooray celebration
🎊 confetti_ball party
🎈 balloon party
🎁 gift present
🎀 ribbon
🎄 christmas_tree
🎃 jack_o_lantern halloween pumpkin
🚗 car red_car automobile
🚕 taxi
🚌 bus
🚓 police_car
🚑 ambulance
🚒 fire_engine
🚲 bike bicycle
🛴 kick_scooter
🏍️ motorcycle
🚂 steam_locomotive train
🚆 train2 train
🚇 metro subway
✈️ airplane plane flight
🚀 rocket launch ship
🛸 flying_saucer ufo
🚁 helicopter
⛵ boat sailboat
🚢 ship
⚓ anchor
🚧 construction wip
⛽ fuelpump
🚦 vertical_traffic_light
🗺️ world_map map
🏠 house home
🏡 house_with_garden home
🏢 office building work
🏥 hospital
🏦 bank
🏫 school
🏰 european_castle castle
🗽 statue_of_liberty
⛺ tent camping
🌃 night_with_stars
🌅 sunrise
⌚ watch time
📱 iphone phone mobile smartphone
💻 computer laptop
⌨️ keyboard
🖥️ desktop_computer
🖨️ printer
🖱️ computer_mouse
💾 floppy_disk save
💿 cd disc
📷 camera photo
🎥 movie_camera film
📺 tv television
📻 radio
⏰ alarm_clock
⏳ hourglass_flowing_sand waiting
⌛ hourglass time
📡 satellite
🔋 battery
🔌 electric_plug plug
💡 bulb idea light
🔦 flashlight
🕯️ candle
🧯 fire_extinguisher
💸 money_with_wings
💵 dollar money
💰 moneybag money rich
💳 credit_card
💎 gem diamond
⚖️ balance_scale law justice
🔧 wrench tool fix
🔨 hammer tool
⚒️ hammer_and_pick
🛠️ hammer_and_wrench tools
⛏️ pick
🔩 nut_and_bolt
⚙️ gear settings
🧱 bricks
⛓️ chains
🧰 toolbox
🧲 magnet
🔫 gun water_pistol
💣 bomb
🔪 hocho knife
🛡️ shield security
🔮 crystal_ball fortune
🧪 test_tube experiment
🧬 dna
🔬 microscope science
🔭 telescope
💊 pill medicine
💉 syringe vaccine
🧹 broom clean
🧻 roll_of_paper
🚽 toilet
🚿 shower
🛏️ bed
🔑 key password
🗝️ old_key
🚪 door
🛒 shopping_cart
📦 package box shipping
📫 mailbox
📮 postbox
✉️ email envelope letter
📧 e-mail email
📨 incoming_envelope
📩 envelope_with_arrow
📝 memo pencil note write
📄 page_facing_up document
📃 page_with_curl
📑 bookmark_tabs
📊 bar_chart stats graph
📈 chart_with_upwards_trend up growth
📉 chart_with_downwards_trend down decline
📅 date calendar
📆 calendar
🗓️ spiral_calendar
📇 card_index
📋 clipboard
📌 pushpin pin
📍 round_pushpin location
📎 paperclip attachment
🖇️ paperclips
📏 straight_ruler
📐 triangular_ruler
✂️ scissors cut
🗂️ card_index_dividers
🗃️ card_file_box
🗄️ file_cabinet
🗑️ wastebasket trash delete
🔒 lock locked private
🔓 unlock open
🔏 lock_with_ink_pen
🔐 closed_lock_with_key
📚 books library study
📖 book open_book read
🔖 bookmark
🏷️ label tag
📰 newspaper news
🖊️ pen
✏️ pencil2 pencil
🖍️ crayon
🔍 mag search find zoom
🔎 mag_right search
🔗 link chain url
📣 mega megaphone announcement
📢 loudspeaker announcement
🔔 bell notification
🔕 no_bell mute silent
✅ white_check_mark done check yes
☑️ ballot_box_with_check check
✔️ heavy_check_mark check
❌ x no cross wrong
❎ negative_squared_cross_mark
➕ heavy_plus_sign plus add
➖ heavy_minus_sign minus
➗ heavy_division_sign divide
✖️ heavy_multiplication_x multiply
❓ question what
❔ grey_question
❗ exclamation heavy_exclamation_mark bang
❕ grey_exclamation
‼️ bangbang
⁉️ interrobang
⚠️ warning caution
🚫 no_entry_sign forbidden
⛔ no_entry stop
🛑 stop_sign stop
♻️ recycle
🔴 red_circle
🟠 orange_circle
🟡 yellow_circle
🟢 green_circle
🔵 large_blue_circle blue_circle
🟣 purple_circle
⚫ black_circle
⚪ white_circle
🟥 red_square
🟩 green_square
🟦 blue_square
⬛ black_large_square
⬜ white_large_square
🔶 large_orange_diamond
🔷 large_blue_diamond
🔺 small_red_triangle
🔻 small_red_triangle_down
💠 diamond_shape_with_a_dot_inside
🔘 radio_button
➡️ arrow_right
⬅️ arrow_left
⬆️ arrow_up
⬇️ arrow_down
↩️ leftwards_arrow_with_hook undo
↪️ arrow_right_hook redo
🔄 arrows_counterclockwise refresh reload
🔃 arrows_clockwise sync
🔁 repeat loop
🔀 twisted_rightwards_arrows shuffle
▶️ arrow_forward play
⏸️ pause_button pause
⏹️ stop_button
⏺️ record_button
⏩ fast_forward
⏪ rewind
🆗 ok
🆕 new
🆒 cool
🆓 free
🆙 up
🆘 sos help
ℹ️ information_source info
Ⓜ️ m
🔝 top
🔚 end
🔜 soon
🔛 on
🔙 back
🏁 checkered_flag finish race
🚩 triangular_flag_on_post flag
🏳️ white_flag surrender
🏴 black_flag
🏳️‍🌈 rainbow_flag pride
🎌 crossed_flags
⏱️ stopwatch timer
⏲️ timer_clock
🕐 clock1 time
♥️ hearts
♠️ spades
♦️ diamonds
♣️ clubs
🃏 black_joker
🀄 mahjong
🔞 underage
📵 no_mobile_phones
☮️ peace_symbol
☯️ yin_yang
⚛️ atom_symbol
♾️ infinity
🆔 id
💲 heavy_dollar_sign
💱 currency_exchange
©️ copyright
®️ registered
™️ tm trademark`;
