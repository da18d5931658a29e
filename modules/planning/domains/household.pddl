; The symbolic household (envs/household), in the spirit of ALFWorld's PDDL: one action per
; ALFWorld text command, for the six ALFRED task families. Typed STRIPS with negative
; preconditions and no conditional effects, so modules/planning/domain.py can replay it.
;
; Predicates named like the environment's facts (at, in, holding, opened, heated, cooled,
; cleaned, sliced, toggled) and its static task facts (openable, canheat, cancool, canclean,
; heatable, coolable, cleanable, sliceable, canslice) mean the same thing here. Four more are
; beliefs the planner adapter (modules/planning/adapters/household.py) derives:
;   handempty    nothing is held
;   accessible   a receptacle's contents can be reached: not openable, or opened
;   explored     the agent has seen inside the receptacle, so it knows what is there
;   searching    some object the task needs has not been located yet
; Object locations start unknown. While (searching) holds, the adapter asks for a tour that
; explores receptacles (goal: explored ...); explored is added only by the search_ actions, which
; need (searching). Once every needed object is located the adapter drops (searching), the rest
; of the tour can no longer be replayed, and the planner module replans for the task itself.
; The agent starts in the middle of the room, the location `middle`.
(define (domain household)
  (:requirements :strips :typing :negative-preconditions)
  (:types
    location thing - object
    receptacle - location
    item lamp - thing)
  (:predicates
    (at ?l - location)
    (in ?t - thing ?r - receptacle)
    (holding ?i - item)
    (handempty)
    (openable ?r - receptacle)
    (opened ?r - receptacle)
    (accessible ?r - receptacle)
    (explored ?r - receptacle)
    (searching)
    (canheat ?r - receptacle)
    (cancool ?r - receptacle)
    (canclean ?r - receptacle)
    (heatable ?i - item)
    (coolable ?i - item)
    (cleanable ?i - item)
    (sliceable ?i - item)
    (canslice ?i - item)
    (heated ?i - item)
    (cooled ?i - item)
    (cleaned ?i - item)
    (sliced ?i - item)
    (toggled ?l - lamp))

  ; "go to R"
  (:action go_to
    :parameters (?from - location ?to - receptacle)
    :precondition (and (at ?from) (not (at ?to)))
    :effect (and (not (at ?from)) (at ?to)))

  ; "go to R" while searching, to look at what lies on a receptacle that cannot be closed
  (:action search_go_to
    :parameters (?from - location ?to - receptacle)
    :precondition (and (searching) (at ?from) (not (at ?to)) (not (openable ?to)))
    :effect (and (not (at ?from)) (at ?to) (explored ?to)))

  ; "open R"
  (:action open
    :parameters (?r - receptacle)
    :precondition (and (at ?r) (openable ?r) (not (opened ?r)))
    :effect (and (opened ?r) (accessible ?r)))

  ; "open R" while searching, to look inside
  (:action search_open
    :parameters (?r - receptacle)
    :precondition (and (searching) (at ?r) (openable ?r) (not (opened ?r)))
    :effect (and (opened ?r) (accessible ?r) (explored ?r)))

  ; "close R"
  (:action close
    :parameters (?r - receptacle)
    :precondition (and (at ?r) (openable ?r) (opened ?r))
    :effect (and (not (opened ?r)) (not (accessible ?r))))

  ; "take I from R"
  (:action take
    :parameters (?i - item ?r - receptacle)
    :precondition (and (at ?r) (accessible ?r) (in ?i ?r) (handempty))
    :effect (and (holding ?i) (not (handempty)) (not (in ?i ?r))))

  ; "put I in/on R"
  (:action put
    :parameters (?i - item ?r - receptacle)
    :precondition (and (at ?r) (accessible ?r) (holding ?i))
    :effect (and (in ?i ?r) (handempty) (not (holding ?i))))

  ; "heat I with R" (a microwave)
  (:action heat
    :parameters (?i - item ?r - receptacle)
    :precondition (and (at ?r) (canheat ?r) (holding ?i) (heatable ?i))
    :effect (and (heated ?i) (not (cooled ?i))))

  ; "cool I with R" (a fridge)
  (:action cool
    :parameters (?i - item ?r - receptacle)
    :precondition (and (at ?r) (cancool ?r) (holding ?i) (coolable ?i))
    :effect (and (cooled ?i) (not (heated ?i))))

  ; "clean I with R" (a sinkbasin)
  (:action clean
    :parameters (?i - item ?r - receptacle)
    :precondition (and (at ?r) (canclean ?r) (holding ?i) (cleanable ?i))
    :effect (cleaned ?i))

  ; "slice I with K": I lies on the receptacle the agent is at, K (a knife) is held
  (:action slice
    :parameters (?i - item ?k - item ?r - receptacle)
    :precondition (and (at ?r) (accessible ?r) (in ?i ?r) (holding ?k) (canslice ?k)
                       (sliceable ?i) (not (sliced ?i)))
    :effect (sliced ?i))

  ; "use L": switch on a lamp at the receptacle the agent is at
  (:action use
    :parameters (?l - lamp ?r - receptacle)
    :precondition (and (at ?r) (accessible ?r) (in ?l ?r) (not (toggled ?l)))
    :effect (toggled ?l)))
